import type { Clock, Logger, Store } from "@kamihi/core";
import type { UserSchema } from "./fields.js";

/** How users get in: see `users.registration`. */
export type Registration = "closed" | "open" | "approval";

/** Options of `createUserService`. */
export interface UserServiceOptions {
  /** Where users, roles, permissions and the change log live. */
  store: Store;
  /** `closed` (default): only users an admin adds; `open`: anyone; `approval`: admins approve. */
  registration?: Registration;
  /** Roles given to users who register by themselves. */
  defaultRoles?: readonly string[];
  /** The project's custom user fields, validated on every write. */
  schema?: UserSchema;
  /** Names of the bot's actions: grants naming anything else are refused. */
  actions?: () => readonly string[];
  /**
   * Changes made elsewhere reach this instance's cache within this many seconds. Default: 2.
   */
  cacheSeconds?: number;
  /**
   * Where the service reads the time: cache expiry, `createdAt`, `lastSeenAt` and the change
   * log's timing. Default: the wall clock. Tests pass one they move forward.
   */
  clock?: Clock;
  logger?: Logger;
}
