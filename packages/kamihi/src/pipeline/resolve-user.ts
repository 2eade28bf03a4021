import type { Resolution } from "@kamihi/core";
import { StoreOutage, storeIsDown } from "../outage.js";
import type { Kit, Step } from "./turn.js";

/**
 * Finds the sender (registering them as `users.registration` says) and keeps their command
 * menu current. A new user awaiting approval is told so, and the admins are asked. With the
 * store down the update waits for it (it is handled again later) rather than failing.
 */
export function resolveUser(kit: Kit): Step {
  return async (turn, next) => {
    let resolution: Resolution;
    try {
      resolution = await kit.users.resolve(turn.from);
    } catch (error) {
      if (await storeIsDown(kit.store, error)) throw new StoreOutage(error);
      kit.log.error({ err: error, userId: turn.from.id }, "the user could not be looked up");
      await turn.button?.answer();
      await kit.say(turn.chat.id, kit.settings.responses.errorMessage).catch(() => {});
      return;
    }
    turn.resolution = resolution;
    const user = resolution.outcome === "unknown" ? null : resolution.user;
    turn.user = user;
    if (resolution.outcome === "registered" && resolution.user.status === "pending") {
      turn.told = true;
      await kit.say(turn.chat.id, kit.settings.users.pendingMessage);
      await kit.approvals.request(resolution.user, (id, message) => kit.say(id, message));
    }
    if (user?.status === "active") {
      kit.menus.sync(user).catch((error: unknown) => {
        kit.log.warn(
          { err: error, userId: user.telegramId },
          "the command menu could not be updated",
        );
      });
    }
    await next();
  };
}
