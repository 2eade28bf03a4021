import type { User } from "@kamihi/core";
import type { FastifyPluginAsync } from "fastify";
import { fmt } from "../kit/format.js";
import type { PageOptions } from "../kit/kit.js";
import type { ActionStat } from "../options.js";

/** At most this many users are named per action; the rest are counted. */
const NAMED_USERS = 5;

/** `/actions`: every action with its commands, who may run it and how often it ran. */
export const actionPages: FastifyPluginAsync<PageOptions> = async (app, { kit }) => {
  app.get("/actions", async (request, reply) => {
    const [permissions, stats] = await Promise.all([
      kit.users.listPermissions(),
      kit.options.stats?.() ?? Promise.resolve(undefined),
    ]);
    const byAction = new Map(permissions.map((p) => [p.action, p]));
    const runs = new Map<string, ActionStat>((stats ?? []).map((s) => [s.action, s]));
    const named = new Map<number, User>();
    const ids = [...new Set(permissions.flatMap((p) => p.users.slice(0, NAMED_USERS)))];
    for (const user of await Promise.all(ids.map((id) => kit.users.getUser(id)))) {
      if (user !== null) named.set(user.telegramId, user);
    }
    const actions = kit.actions.list().map((action) => {
      const permission = byAction.get(action.name);
      const users = permission?.users ?? [];
      return {
        ...action,
        roles: permission?.roles ?? [],
        users: users.slice(0, NAMED_USERS).map((id) => ({ telegramId: id, user: named.get(id) })),
        moreUsers: Math.max(0, users.length - NAMED_USERS),
        stat: runs.get(action.name),
      };
    });
    return kit.render(request, reply, "actions.eta", "Actions", {
      fmt,
      actions,
      hasStats: stats !== undefined,
    });
  });
};
