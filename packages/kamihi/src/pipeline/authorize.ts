import type { User } from "@kamihi/core";
import type { RegisteredAction } from "../actions.js";
import { refuse } from "./refuse.js";
import type { Kit, Step } from "./turn.js";

/**
 * Public actions run for anyone but blocked users; others for admins and for users a
 * permission names. Every path to action code asks this.
 */
export async function mayRun(
  kit: Kit,
  action: RegisteredAction,
  user: User | null,
): Promise<boolean> {
  if (user?.status === "blocked") return false;
  if (action.public) return true;
  if (user === null) return false;
  return kit.users.can(user, action.name);
}

/** Lets the turn's action run only for who may run it; others are refused (or, if just told they await approval, left be). */
export function authorize(kit: Kit): Step {
  return async (turn, next) => {
    const { action } = turn;
    if (action === undefined) return;
    if (!(await mayRun(kit, action, turn.user))) {
      if (!turn.told || turn.button !== undefined) await refuse(kit, turn, action.name);
      return;
    }
    // The button's spinner stops before the action's work begins.
    await turn.button?.answer();
    await next();
  };
}
