import type { BotCommand, CommandScope } from "@kamihi/core";
import type { Call } from "./call.js";

/** Publishes a command menu for a scope (the default scope when omitted); none removes it. */
export async function publishCommands(
  call: Call,
  commands: readonly BotCommand[],
  scope?: CommandScope,
): Promise<void> {
  const payload = { ...(scope === undefined ? {} : { scope: scopeOf(scope) }) };
  // An empty menu is Telegram's "no menu of its own": the scope falls back to a wider one.
  if (commands.length === 0) await call("deleteMyCommands", payload);
  else await call("setMyCommands", { ...payload, commands: commands.map((c) => ({ ...c })) });
}

/** A scope as the Bot API's `BotCommandScope`. */
function scopeOf(scope: CommandScope): Record<string, unknown> {
  switch (scope.type) {
    case "chat":
    case "chat_administrators":
      return { type: scope.type, chat_id: scope.chatId };
    case "chat_member":
      return { type: scope.type, chat_id: scope.chatId, user_id: scope.userId };
    default:
      return { type: scope.type };
  }
}
