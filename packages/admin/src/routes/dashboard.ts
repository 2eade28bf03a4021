import type { FastifyPluginAsync } from "fastify";
import type { PageOptions } from "../kit/kit.js";

/** `/`: the bot's status, counts, actions, recent errors and pending requests. */
export const dashboardPages: FastifyPluginAsync<PageOptions> = async (app, { kit }) => {
  app.get("/", async (request, reply) => {
    const [all, active, pending, blocked, admins, roles] = await Promise.all([
      kit.users.listUsers({ limit: 1 }),
      kit.users.listUsers({ status: "active", limit: 1 }),
      kit.users.listUsers({ status: "pending", limit: 5 }),
      kit.users.listUsers({ status: "blocked", limit: 1 }),
      kit.users.listUsers({ isAdmin: true, limit: 1 }),
      kit.users.listRoles(),
    ]);
    const errors = (await kit.options.errors?.()) ?? [];
    return kit.render(request, reply, "dashboard.eta", "Dashboard", {
      counts: {
        users: all.total,
        active: active.total,
        pending: pending.total,
        blocked: blocked.total,
        admins: admins.total,
        roles: roles.length,
        actions: kit.actions.list().length,
      },
      pending: pending.users,
      actions: kit.actions.list(),
      errors: errors.slice(0, 10),
    });
  });
};
