/**
 * The Kamihi web admin: users, roles, permissions, actions and access requests, behind a login
 * link the bot sends to admins. Server-rendered (Fastify + Eta), usable without JavaScript.
 *
 * @packageDocumentation
 */

export { createAdmin } from "./server.js";
export type {
  ActionStat,
  AdminKit,
  AdminOptions,
  AdminServer,
  AuditEntry,
  BotStatus,
  PageContext,
  RecentError,
} from "./server.js";
export { hashPassword, Sessions, verifyPassword } from "./sessions.js";
export { loginLinks } from "./links.js";
