import type { Resolution, Settings } from "@kamihi/core";
import type { Kit, Turn } from "./turn.js";

/** What a refused user is told: nothing (blocked), "awaiting approval", or the refusal. */
export function refusal(settings: Settings, resolution: Resolution): string {
  if (resolution.outcome === "blocked") return "";
  if (resolution.outcome !== "unknown" && resolution.user.status === "pending") {
    return settings.users.pendingMessage;
  }
  return settings.responses.unauthorizedMessage;
}

/**
 * Logs a refusal and tells the user, unless the answer is silence: in the chat (for a message,
 * or a reply to a question), or as an alert on a pressed button.
 */
export async function refuse(
  kit: Kit,
  turn: Turn,
  action: string | undefined,
  inChat = turn.button === undefined,
): Promise<void> {
  const what = turn.button === undefined ? "action" : "button of action";
  kit.log.info(
    {
      userId: turn.from.id,
      outcome: turn.resolution.outcome,
      chatId: turn.chat.id,
      ...(action === undefined ? {} : { action }),
    },
    action === undefined
      ? "a message from a user without access was refused"
      : `the ${what} ${action} was refused`,
  );
  const text = refusal(kit.settings, turn.resolution);
  if (!inChat) {
    await turn.button?.answer(text, text !== "");
  } else if (text.trim() !== "") {
    await kit.say(turn.chat.id, { type: "text", text, format: "plain" });
  }
}
