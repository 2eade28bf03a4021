/**
 * The Kamihi web admin: users, roles, permissions, actions and access requests, behind a login
 * link the bot sends to admins. Server-rendered (Fastify + Eta), usable without JavaScript.
 *
 * @packageDocumentation
 */

export { createAdmin } from "./server.js";
export type {
  ActionStat,
  AdminOptions,
  AdminServer,
  BotStatus,
  RecentError,
} from "./options.js";
export type { AdminKit } from "./kit/kit.js";
export type { AuditEntry } from "./kit/audit.js";
export type { PageContext } from "./kit/render.js";
export { hashPassword, verifyPassword } from "./passwords.js";
export { Sessions } from "./sessions.js";
export { loginLinks } from "./links.js";
