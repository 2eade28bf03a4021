import { refuse } from "./refuse.js";
import type { Kit, Step } from "./turn.js";

/** Blocked users get nothing at all: the update ends here, and the refusal is only logged. */
export function blocked(kit: Kit): Step {
  return async (turn, next) => {
    if (turn.resolution.outcome !== "blocked") return next();
    const command = turn.command?.name;
    const action = command === undefined ? undefined : kit.registry.byCommand(command);
    await refuse(kit, turn, action?.name ?? turn.pending?.conversation.action);
  };
}
