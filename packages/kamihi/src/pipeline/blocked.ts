import { refuse } from "./refuse.js";
import type { Kit, Step } from "./turn.js";

/**
 * Blocked users get nothing at all: the update ends here (and any question they were answering
 * with it), and the refusal is only logged.
 */
export function blocked(kit: Kit): Step {
  return async (turn, next) => {
    if (turn.resolution.outcome !== "blocked") return next();
    // Their answers never reach the action: a conversation they were in ends here.
    if (turn.pending !== undefined) await kit.conversations.end(turn.pending.conversation);
    const command = turn.command?.name;
    const action = command === undefined ? undefined : kit.registry.byCommand(command);
    await refuse(kit, turn, action?.name ?? turn.pending?.conversation.action);
  };
}
