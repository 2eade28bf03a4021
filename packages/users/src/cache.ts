import type { AccessChange, Collection, User } from "@kamihi/core";
import type { PermissionDoc } from "./documents.js";

/** Cached users, strangers included; the oldest entries go first. */
export const MAX_CACHED_USERS = 50_000;

/** Who may run one action: user ids and role names, as sets for the update path. */
export interface Grant {
  users: Set<number>;
  roles: Set<string>;
}

/** Every action's {@link Grant}, by action name. */
export type Grants = ReadonlyMap<string, Grant>;

/**
 * What the update path reads instead of the store: users by Telegram id (`null` for a stranger
 * known not to exist) and every permission. The change log tells it what to forget.
 */
export class AccessCache {
  private readonly permissions: Collection<PermissionDoc>;
  private readonly users = new Map<number, User | null>();
  private grants: Grants | undefined;

  constructor(permissions: Collection<PermissionDoc>) {
    this.permissions = permissions;
  }

  /** The cached user (`null`: known not to exist), or `undefined` when not cached. */
  user(telegramId: number): User | null | undefined {
    return this.users.get(telegramId);
  }

  /** Caches what the store holds for this id, making room by forgetting the oldest entry. */
  remember(telegramId: number, user: User | null): void {
    if (!this.users.has(telegramId) && this.users.size >= MAX_CACHED_USERS) {
      const oldest = this.users.keys().next();
      if (!oldest.done) this.users.delete(oldest.value);
    }
    this.users.set(telegramId, user);
  }

  /** Every permission, read from the store once and then from memory until a change. */
  async permissionsByAction(): Promise<Grants> {
    if (this.grants !== undefined) return this.grants;
    const docs = await this.permissions.find({});
    const loaded: Grants = new Map(
      docs.map((doc) => [doc.action, { users: new Set(doc.users), roles: new Set(doc.roles) }]),
    );
    this.grants = loaded;
    return loaded;
  }

  /** Forgets what a change touched: those users (or all), and the permissions. */
  forget(change: AccessChange): void {
    this.grants = undefined;
    if ("all" in change) this.users.clear();
    else for (const id of change.users) this.users.delete(id);
  }
}
