import type {
  AccessChange,
  Decision,
  NewUser,
  Permission,
  Resolution,
  Role,
  TelegramUser,
  User,
  UserField,
  UserPage,
  UserPatch,
  UserQuery,
  UserService,
} from "@kamihi/core";
import * as admins from "./admins.js";
import * as approvals from "./approvals.js";
import * as authorization from "./authorization.js";
import { createContext, type ServiceContext } from "./context.js";
import { createIndexes } from "./documents.js";
import { describeFields } from "./fields.js";
import * as listing from "./listing.js";
import type { UserServiceOptions } from "./options.js";
import * as permissions from "./permissions.js";
import * as resolution from "./resolution.js";
import * as roles from "./roles.js";
import * as users from "./users.js";

/**
 * Users, roles and permissions over a `Store`, with the update path served from memory.
 *
 * **Cache.** `resolve()` and `can()` read an in-process cache, so the steady state costs no
 * database round trip per update. Every write records a numbered change in
 * `kamihi_access_changes`; each instance reads that log at most every `cacheSeconds` (on
 * `refresh()`, or lazily on `resolve()`), drops what it cached of the changed users and reloads
 * the permissions. A change made by the CLI, the admin or another instance therefore takes effect
 * within `cacheSeconds` plus one round trip; a change made through this instance takes effect at
 * once.
 *
 * Each method is one concern's module (`resolution`, `users`, `listing`, `roles`,
 * `permissions`, `authorization`, `approvals`, `admins`); this class only makes sure the
 * indexes exist first.
 */
export class StoreUserService implements UserService {
  private readonly ctx: ServiceContext;
  private ready: Promise<void> | undefined;

  constructor(options: UserServiceOptions) {
    this.ctx = createContext(options);
  }

  /** Creates the indexes and starts reading the change log from its current end. Idempotent. */
  init(): Promise<void> {
    this.ready ??= (async () => {
      await createIndexes(this.ctx);
      await this.ctx.changeLog.start();
    })();
    return this.ready;
  }

  /**
   * Saves what is still waiting to be written (profiles and `lastSeenAt`) and lets a read of
   * the change log under way finish, so the store can be closed after it and nothing is lost.
   * The service holds no timer. Safe to call more than once.
   */
  async close(): Promise<void> {
    await this.ctx.changeLog.settled();
    await this.flush();
  }

  /** Resolves once the profile and `lastSeenAt` writes queued so far are in the store. */
  flush(): Promise<void> {
    return this.ctx.lastSeen.flush();
  }

  // ---- the update path -------------------------------------------------------------------

  async resolve(from: TelegramUser): Promise<Resolution> {
    await this.init();
    return resolution.resolve(this.ctx, from);
  }

  can(user: User, action: string): Promise<boolean> {
    return authorization.can(this.ctx, user, action);
  }

  allowedActions(user: User): Promise<string[]> {
    return authorization.allowedActions(this.ctx, user);
  }

  // ---- users -----------------------------------------------------------------------------

  async getUser(telegramId: number): Promise<User | null> {
    await this.init();
    return users.getUser(this.ctx, telegramId);
  }

  async listUsers(query: UserQuery = {}): Promise<UserPage> {
    await this.init();
    return listing.listUsers(this.ctx, query);
  }

  async createUser(input: NewUser): Promise<User> {
    await this.init();
    return users.createUser(this.ctx, input);
  }

  async updateUser(telegramId: number, patch: UserPatch): Promise<User> {
    await this.init();
    return users.updateUser(this.ctx, telegramId, patch);
  }

  async deleteUser(telegramId: number): Promise<boolean> {
    await this.init();
    return users.deleteUser(this.ctx, telegramId);
  }

  async decide(telegramId: number, approve: boolean): Promise<Decision> {
    await this.init();
    return approvals.decide(this.ctx, telegramId, approve);
  }

  /** Makes these users admins (creating them when missing): the `users.admins` setting. */
  async ensureAdmins(telegramIds: readonly number[]): Promise<void> {
    await this.init();
    return admins.ensureAdmins(this.ctx, telegramIds);
  }

  fields(): readonly UserField[] {
    return describeFields(this.ctx.schema);
  }

  // ---- roles -----------------------------------------------------------------------------

  async listRoles(): Promise<Role[]> {
    await this.init();
    return roles.listRoles(this.ctx);
  }

  async createRole(input: { name: string; description?: string }): Promise<Role> {
    await this.init();
    return roles.createRole(this.ctx, input);
  }

  async deleteRole(name: string): Promise<boolean> {
    await this.init();
    return roles.deleteRole(this.ctx, name);
  }

  async assignRole(role: string, telegramId: number): Promise<User> {
    await this.init();
    return roles.assignRole(this.ctx, role, telegramId);
  }

  async unassignRole(role: string, telegramId: number): Promise<User> {
    await this.init();
    return roles.unassignRole(this.ctx, role, telegramId);
  }

  // ---- permissions -----------------------------------------------------------------------

  async listPermissions(): Promise<Permission[]> {
    await this.init();
    return permissions.listPermissions(this.ctx);
  }

  async grant(action: string, to: { users?: number[]; roles?: string[] }): Promise<Permission> {
    await this.init();
    return permissions.grant(this.ctx, action, to);
  }

  async revoke(action: string, from: { users?: number[]; roles?: string[] }): Promise<Permission> {
    await this.init();
    return permissions.revoke(this.ctx, action, from);
  }

  async removePermission(action: string): Promise<boolean> {
    await this.init();
    return permissions.removePermission(this.ctx, action);
  }

  // ---- the change log --------------------------------------------------------------------

  onChange(listener: (change: AccessChange) => void): () => void {
    return this.ctx.changeLog.onChange(listener);
  }

  async refresh(): Promise<AccessChange[]> {
    await this.init();
    return this.ctx.changeLog.refresh();
  }
}

/** Users, roles and permissions over a store; see {@link StoreUserService}. */
export function createUserService(options: UserServiceOptions): StoreUserService {
  return new StoreUserService(options);
}
