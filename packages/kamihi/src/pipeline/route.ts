import { refuse } from "./refuse.js";
import type { Kit, Step } from "./turn.js";

/**
 * Finds the action a command (sent, or carried by a button) runs. A message that runs nothing
 * gets `responses.defaultMessage` in a private chat (or when addressed to the bot), a refusal
 * for users without access, or nothing; a stale button says it no longer does anything.
 */
export function route(kit: Kit): Step {
  const { settings, registry } = kit;
  return async (turn, next) => {
    if (turn.action !== undefined) return next();
    const { command } = turn;
    const action = command === undefined ? undefined : registry.byCommand(command.name);
    if (action !== undefined) {
      turn.action = action;
      turn.args = command?.args ?? "";
      return next();
    }
    if (turn.button !== undefined) {
      await turn.button.answer("This button no longer does anything.");
      return;
    }
    if (turn.told) return;
    if (turn.user?.status !== "active") {
      await refuse(kit, turn, undefined);
    } else if (
      settings.responses.defaultEnabled &&
      (turn.chat.type === "private" || command?.bot !== undefined)
    ) {
      await kit.say(turn.chat.id, settings.responses.defaultMessage);
    }
  };
}
