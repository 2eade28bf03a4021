import type { Update } from "@kamihi/core";
import { StoreOutage } from "../outage.js";
import { ask } from "./ask.js";
import { authorize } from "./authorize.js";
import { blocked } from "./blocked.js";
import { builtIns } from "./built-ins.js";
import { conversation } from "./conversation.js";
import { readUpdate } from "./read.js";
import { resolveUser } from "./resolve-user.js";
import { respond } from "./respond.js";
import { route } from "./route.js";
import { run } from "./run.js";
import { done, type Kit, type Step, sequence } from "./turn.js";

/**
 * The steps every update walks, in order (docs/architecture.md §3). Commands, buttons and
 * replies to questions all go this way; a step that has answered the update ends it by not
 * calling `next`.
 */
export function steps(kit: Kit): Step[] {
  return [
    resolveUser(kit),
    blocked(kit),
    conversation(kit),
    builtIns(kit),
    route(kit),
    authorize(kit),
    ask(kit),
    run(kit),
    respond(kit),
  ];
}

/** Handles one update of a started bot: reads what it asks, then walks it through the steps. */
export function createPipeline(kit: Kit): (update: Update, raw: unknown) => Promise<void> {
  const walk = sequence(steps(kit));
  return async (update, raw) => {
    const turn = await readUpdate(kit, update, raw);
    if (turn === undefined) return;
    try {
      await walk(turn, done);
    } catch (error) {
      // With the store down the update is handled again later, and that attempt answers the
      // button (with its text); a button answers once, so this one must not.
      if (!(error instanceof StoreOutage)) await turn.button?.answer();
      throw error;
    }
    // Whatever happened, a pressed button's spinner stops.
    await turn.button?.answer();
  };
}

export { parseCommand } from "./parse-command.js";
export type { Kit, Next, PressedButton, Step, Turn } from "./turn.js";
