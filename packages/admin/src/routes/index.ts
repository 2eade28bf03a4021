import type { FastifyInstance } from "fastify";
import type { AdminKit } from "../server.js";
import { registerActions } from "./actions.js";
import { registerAudit } from "./audit.js";
import { registerDashboard } from "./dashboard.js";
import { registerPermissions } from "./permissions.js";
import { registerRequests } from "./requests.js";
import { registerRoles } from "./roles.js";
import { registerUsers } from "./users.js";

/** Every page behind the login. Each module owns one area (users, roles, …). */
export async function registerPages(app: FastifyInstance, kit: AdminKit): Promise<void> {
  registerDashboard(app, kit);
  registerUsers(app, kit);
  registerRoles(app, kit);
  registerPermissions(app, kit);
  registerActions(app, kit);
  registerRequests(app, kit);
  registerAudit(app, kit);
}
