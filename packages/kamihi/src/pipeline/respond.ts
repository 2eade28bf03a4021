import type { Kit, Step } from "./turn.js";

/** Sends what the action returned (a string, messages, media, several of them, or nothing). */
export function respond(kit: Kit): Step {
  return async (turn, next) => {
    await kit.say(turn.chat.id, turn.result, turn.action?.name);
    await next();
  };
}
