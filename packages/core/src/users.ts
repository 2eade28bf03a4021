import type { TelegramUser } from "./update.js";

/** Whether a user may use the bot: `pending` users await an admin's approval. */
export type UserStatus = "active" | "blocked" | "pending";

/** A person known to the bot. `Data` is the project's own user fields. */
export interface User<Data extends Record<string, unknown> = Record<string, unknown>> {
  /** The Telegram user id: the user's identity everywhere in Kamihi. */
  telegramId: number;
  firstName: string;
  lastName?: string;
  username?: string;
  languageCode?: string;
  /** Admins may run every action and use the web admin. */
  isAdmin: boolean;
  /** Names of the roles the user has. */
  roles: string[];
  status: UserStatus;
  /** Project-defined fields, validated by the project's user schema. */
  data: Data;
  createdAt: Date;
  /** The last time an update from this user was handled. */
  lastSeenAt?: Date;
}

/** A named group of users that permissions can name. */
export interface Role {
  name: string;
  description?: string;
  createdAt: Date;
}

/** Who may run one action: users by Telegram id, and roles by name. */
export interface Permission {
  action: string;
  users: number[];
  roles: string[];
}

/** Fields for creating a user; the rest take their defaults. */
export interface NewUser<Data extends Record<string, unknown> = Record<string, unknown>> {
  telegramId: number;
  firstName: string;
  lastName?: string;
  username?: string;
  languageCode?: string;
  isAdmin?: boolean;
  roles?: string[];
  status?: UserStatus;
  data?: Data;
}

/** Fields an admin (or code) may change on a user. */
export type UserPatch<Data extends Record<string, unknown> = Record<string, unknown>> = Partial<
  Omit<User<Data>, "telegramId" | "createdAt">
>;

/** Filters and paging for listing users. */
export interface UserQuery {
  /** Case-insensitive match on names and username; matched literally, never as a pattern. */
  search?: string;
  role?: string;
  status?: UserStatus;
  isAdmin?: boolean;
  limit?: number;
  /** Opaque cursor from the previous page. */
  after?: string;
  /**
   * Count the matching users only up to this many: past it, `total` is this number and
   * `moreThanTotal` is true. Counting every match costs a pass over all of them, which a page
   * that says "more than 1,000" does not need. Default: every match is counted.
   */
  countUpTo?: number;
}

/** One page of users. */
export interface UserPage<Data extends Record<string, unknown> = Record<string, unknown>> {
  users: User<Data>[];
  /** Pass as `after` for the next page; absent on the last page. */
  next?: string;
  /** How many users match the query's filters (whatever the page), or see `moreThanTotal`. */
  total: number;
  /** More than `total` users match: counting stopped at the query's `countUpTo`. */
  moreThanTotal?: boolean;
}

/** What happened when an update's sender was resolved. */
export type Resolution<Data extends Record<string, unknown> = Record<string, unknown>> =
  | { outcome: "known"; user: User<Data> }
  | { outcome: "registered"; user: User<Data> }
  | { outcome: "pending"; user: User<Data> }
  | { outcome: "blocked"; user: User<Data> }
  | { outcome: "unknown" };

/** One custom user field, as forms and listings show it. */
export interface UserField {
  /** The key in `user.data`. */
  name: string;
  type: "string" | "number" | "integer" | "boolean" | "date" | "choice" | "list" | "unknown";
  /** Absent from `data` is fine (the schema has a default or the field is optional). */
  optional: boolean;
  /** The allowed values of a `choice`. */
  options?: readonly string[];
}

/** Which users a change of access touched: some by id, or everyone. */
export type AccessChange = { users: readonly number[] } | { all: true };

/** What deciding a registration request did. */
export type Decision =
  /** This call approved (or denied) the request. */
  | { outcome: "applied"; user: User }
  /** Someone else decided first; `user` is as they left it. */
  | { outcome: "already"; user: User }
  /** The user is gone (deleted meanwhile). */
  | { outcome: "missing" };

/** Decides whether a user may run an action. */
export interface AccessControl {
  /** True when `user` may run the action named `action`. */
  can(user: User, action: string): Promise<boolean>;
}

/**
 * Users, roles and permissions: resolution of update senders (with registration), access
 * checks, and the CRUD the CLI and the admin use. The default is `@kamihi/users`.
 */
export interface UserService extends AccessControl {
  /**
   * Prepares what the service needs (indexes, caches) before the first call; called once by
   * the bot at start. Optional: a service that needs nothing omits it.
   */
  init?(): Promise<void>;
  /** Releases what the service holds (timers, pending writes); called once when the bot stops. */
  close?(): Promise<void>;
  /**
   * Makes these Telegram ids admins (`users.admins`): creates the users that do not exist
   * (active), and sets `isAdmin` on those that do. Called by the bot at every start; without
   * it, the bot does the same through {@link getUser}, {@link createUser} and {@link updateUser}.
   */
  ensureAdmins?(telegramIds: readonly number[]): Promise<void>;
  /** Finds (or registers, as the registration setting says) the sender of an update. */
  resolve(from: TelegramUser): Promise<Resolution>;
  getUser(telegramId: number): Promise<User | null>;
  listUsers(query?: UserQuery): Promise<UserPage>;
  createUser(input: NewUser): Promise<User>;
  updateUser(telegramId: number, patch: UserPatch): Promise<User>;
  deleteUser(telegramId: number): Promise<boolean>;

  listRoles(): Promise<Role[]>;
  createRole(input: { name: string; description?: string }): Promise<Role>;
  deleteRole(name: string): Promise<boolean>;

  listPermissions(): Promise<Permission[]>;
  /** Lets the given users and roles run `action` (adds to what is already granted). */
  grant(action: string, to: { users?: number[]; roles?: string[] }): Promise<Permission>;
  /** Takes the given users and roles off `action`. */
  revoke(action: string, from: { users?: number[]; roles?: string[] }): Promise<Permission>;
  /** Takes every grant of `action` away. */
  removePermission(action: string): Promise<boolean>;
  /** Names of the actions this user may run (for menus and `/help`). */
  allowedActions(user: User): Promise<string[]>;

  /** Gives a user a role (both must exist). */
  assignRole(role: string, telegramId: number): Promise<User>;
  /** Takes a role off a user. */
  unassignRole(role: string, telegramId: number): Promise<User>;

  /**
   * Approves (`active`) or denies (`blocked`) a pending user. Applied once: when two admins
   * decide at the same time, one gets `applied` and the other `already`.
   */
  decide(telegramId: number, approve: boolean): Promise<Decision>;

  /** The project's custom user fields (from its user schema), for the CLI and the admin. */
  fields(): readonly UserField[];

  /**
   * Picks up changes made elsewhere (the CLI, the admin, another instance) and drops what the
   * cache holds of them. Returns what changed since the last call.
   */
  refresh(): Promise<AccessChange[]>;
  /** Calls `listener` with every change of access, local or picked up by {@link refresh}. */
  onChange(listener: (change: AccessChange) => void): () => void;
}
