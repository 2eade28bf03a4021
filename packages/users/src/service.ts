import {
  type AccessChange,
  type Decision,
  isKamihiError,
  KamihiError,
  KamihiValidationError,
  type Logger,
  literal,
  type NewUser,
  type Permission,
  type Resolution,
  type Role,
  type Store,
  type Stored,
  silentLogger,
  type TelegramUser,
  type User,
  type UserField,
  type UserPage,
  type UserPatch,
  type UserQuery,
  type UserService,
  type UserStatus,
  type ValidationIssue,
} from "@kamihi/core";
import { describeFields, invalid, type UserSchema, validateData } from "./fields.js";
import { WriteBehind } from "./write-behind.js";

/** How users get in: see `users.registration`. */
export type Registration = "closed" | "open" | "approval";

/** Options of {@link createUserService}. */
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
  logger?: Logger;
}

type UserDoc = Omit<User, "createdAt"> & Record<string, unknown>;
type RoleDoc = Omit<Role, "createdAt"> & Record<string, unknown>;
type PermissionDoc = Permission & Record<string, unknown>;
interface ChangeDoc extends Record<string, unknown> {
  seq: number;
  users?: number[];
  all?: boolean;
  at: Date;
}

/** Above this many users a change is recorded as "everyone" rather than by id. */
const MAX_IDS_PER_CHANGE = 1000;
/** A seq number taken but not written this long is treated as a lost change (everyone). */
const GAP_GRACE_MS = 10_000;
/** lastSeenAt and profile fields are written at most this often per user. */
const TOUCH_INTERVAL_MS = 60_000;
/** Cached users, strangers included; the oldest entries go first. */
const MAX_CACHED_USERS = 50_000;
const STATUSES: readonly UserStatus[] = ["active", "blocked", "pending"];

interface CachedPermissions {
  byAction: Map<string, { users: Set<number>; roles: Set<string> }>;
}

/**
 * Users, roles and permissions over a {@link Store}, with the update path served from memory.
 *
 * **Cache.** `resolve()` and `can()` read an in-process cache, so the steady state costs no
 * database round trip per update. Every write records a numbered change in
 * `kamihi_access_changes`; each instance reads that log at most every `cacheSeconds` (on
 * `refresh()`, or lazily on `resolve()`), drops what it cached of the changed users and reloads
 * the permissions. A change made by the CLI, the admin or another instance therefore takes effect
 * within `cacheSeconds` plus one round trip; a change made through this instance takes effect at
 * once.
 */
export class StoreUserService implements UserService {
  private readonly store: Store;
  private readonly registration: Registration;
  private readonly defaultRoles: readonly string[];
  private readonly schema: UserSchema | undefined;
  private readonly actionNames: (() => readonly string[]) | undefined;
  private readonly cacheMs: number;
  private readonly log: Logger;

  private readonly users;
  private readonly roles;
  private readonly permissions;
  private readonly changes;
  private readonly counters;

  private readonly cachedUsers = new Map<number, User | null>();
  private cachedPermissions: CachedPermissions | undefined;
  private readonly lastTouched = new Map<number, number>();
  /** lastSeenAt and profile writes, behind the updates and never more than two at once. */
  private readonly touches = new WriteBehind<number>({
    concurrency: 2,
    onError: (userId, error) =>
      this.log.warn({ err: error, userId }, "lastSeenAt could not be saved"),
  });
  private readonly listeners = new Set<(change: AccessChange) => void>();
  /** The last change of the log this instance has applied. */
  private lastSeq = 0;
  private lastRefresh = 0;
  private refreshing: Promise<AccessChange[]> | undefined;
  private gapSince: number | undefined;
  private readonly ownSeqs = new Set<number>();
  private ready: Promise<void> | undefined;

  constructor(options: UserServiceOptions) {
    this.store = options.store;
    this.registration = options.registration ?? "closed";
    this.defaultRoles = options.defaultRoles ?? [];
    this.schema = options.schema;
    this.actionNames = options.actions;
    this.cacheMs = Math.max(50, (options.cacheSeconds ?? 2) * 1000);
    this.log = options.logger ?? silentLogger;
    this.users = this.store.collection<UserDoc>("users");
    this.roles = this.store.collection<RoleDoc>("roles");
    this.permissions = this.store.collection<PermissionDoc>("permissions");
    this.changes = this.store.collection<ChangeDoc>("access_changes");
    this.counters = this.store.collection<{ name: string; seq: number }>("counters");
  }

  /** Creates the indexes and starts reading the change log from its current end. Idempotent. */
  init(): Promise<void> {
    this.ready ??= (async () => {
      await Promise.all([
        this.users.createIndex({ keys: { telegramId: 1 }, unique: true }),
        this.users.createIndex({ keys: { roles: 1 } }),
        // The admin's listing: each filter, then the telegramId order it pages in.
        this.users.createIndex({ keys: { status: 1, telegramId: 1 } }),
        this.users.createIndex({ keys: { isAdmin: 1, telegramId: 1 } }),
        this.users.createIndex({ keys: { roles: 1, telegramId: 1 } }),
        this.roles.createIndex({ keys: { name: 1 }, unique: true }),
        this.permissions.createIndex({ keys: { action: 1 }, unique: true }),
        this.changes.createIndex({ keys: { seq: 1 }, unique: true }),
        this.changes.createIndex({ keys: { at: 1 }, expireAfterSeconds: 86_400 }),
        this.counters.createIndex({ keys: { name: 1 }, unique: true }),
      ]);
      const last = await this.changes.findOne({}, { sort: { seq: -1 } });
      this.lastSeq = last?.seq ?? 0;
      this.lastRefresh = Date.now();
    })();
    return this.ready;
  }

  // ---- the update path -------------------------------------------------------------------

  async resolve(from: TelegramUser): Promise<Resolution> {
    await this.init();
    if (Date.now() - this.lastRefresh >= this.cacheMs) {
      try {
        await this.refresh();
      } catch (error) {
        // The change log cannot be read (the store is slow or down): known users are served
        // from the cache, and the log is read again after cacheSeconds (nothing in it is lost).
        if (Date.now() - this.lastRefresh >= this.cacheMs) {
          this.lastRefresh = Date.now();
          this.log.warn(
            { err: error },
            "changes to users and permissions could not be read; known users are served from the cache",
          );
        }
      }
    }
    let user = this.cachedUsers.get(from.id);
    if (user === undefined) {
      user = await this.readUser(from.id);
      this.remember(from.id, user);
    }
    if (user !== null) {
      user = this.touch(user, from);
      return { outcome: user.status === "active" ? "known" : user.status, user };
    }
    if (this.registration === "closed") return { outcome: "unknown" };
    const status: UserStatus = this.registration === "open" ? "active" : "pending";
    try {
      const created = await this.insertUser({
        ...profileOf(from),
        isAdmin: false,
        roles: await this.existingRoles(this.defaultRoles),
        status,
        data: await validateData(this.schema, undefined, from.id),
        lastSeenAt: new Date(),
      });
      this.log.info({ userId: from.id, status }, "a user registered");
      this.remember(from.id, created);
      return { outcome: "registered", user: created };
    } catch (error) {
      // Two updates of a new user at once (or two instances): the other one registered them.
      if (!isKamihiError(error, "KAMIHI_USER_EXISTS")) throw error;
      const existing = await this.readUser(from.id);
      if (existing === null) throw error;
      this.remember(from.id, existing);
      return { outcome: existing.status === "active" ? "known" : existing.status, user: existing };
    }
  }

  async can(user: User, action: string): Promise<boolean> {
    if (user.status !== "active") return false;
    if (user.isAdmin) return true;
    const grant = (await this.loadPermissions()).byAction.get(action);
    if (grant === undefined) return false;
    return grant.users.has(user.telegramId) || user.roles.some((role) => grant.roles.has(role));
  }

  async allowedActions(user: User): Promise<string[]> {
    const known = this.actionNames?.();
    if (user.status !== "active") return [];
    if (user.isAdmin) {
      return [...(known ?? (await this.loadPermissions()).byAction.keys())];
    }
    const permissions = await this.loadPermissions();
    const allowed: string[] = [];
    for (const [action, grant] of permissions.byAction) {
      if (known !== undefined && !known.includes(action)) continue;
      if (grant.users.has(user.telegramId) || user.roles.some((role) => grant.roles.has(role))) {
        allowed.push(action);
      }
    }
    return known === undefined ? allowed : known.filter((name) => allowed.includes(name));
  }

  // ---- users -----------------------------------------------------------------------------

  async getUser(telegramId: number): Promise<User | null> {
    await this.init();
    return this.readUser(checkId(telegramId));
  }

  async listUsers(query: UserQuery = {}): Promise<UserPage> {
    await this.init();
    const filter = listFilter(query);
    const limit = Math.min(Math.max(Math.trunc(query.limit ?? 50), 1), 1000);
    const after = query.after === undefined ? undefined : cursorOf(query.after);
    if (query.countUpTo === undefined) {
      const [docs, total] = await Promise.all([
        this.findPage(filter, after, limit),
        this.users.countDocuments(filter),
      ]);
      return pageOf(docs, limit, { total });
    }
    const upTo = countLimitOf(query.countUpTo);
    // Up to upTo + 1 matches in any order, so the store stops there. When that is all of them
    // (a search, a narrow filter), they give the page and the exact count in this one pass.
    const matches = await this.users.find(filter, {
      limit: upTo + 1,
      projection: LISTED_FIELDS,
    });
    if (matches.length <= upTo) {
      const rest = after === undefined ? matches : matches.filter((d) => d.telegramId > after);
      rest.sort((a, b) => a.telegramId - b.telegramId);
      return pageOf(rest.slice(0, limit + 1), limit, { total: matches.length });
    }
    return pageOf(await this.findPage(filter, after, limit), limit, {
      total: upTo,
      moreThanTotal: true,
    });
  }

  /**
   * One page (and one user more, to tell whether another page follows) in telegramId order,
   * after the cursor: keyset paging, which the listing indexes serve after each filter, so a
   * later page costs what the first does where skipping would pass over every earlier user.
   */
  private findPage(filter: Record<string, unknown>, after: number | undefined, limit: number) {
    return this.users.find(
      after === undefined ? filter : { ...filter, telegramId: { $gt: after } },
      { sort: { telegramId: 1 }, limit: limit + 1, projection: LISTED_FIELDS },
    );
  }

  async createUser(input: NewUser): Promise<User> {
    await this.init();
    const telegramId = checkId(input.telegramId);
    const issues = checkProfile(input);
    if (input.status !== undefined && !STATUSES.includes(input.status)) {
      issues.push({ path: "status", message: `expected one of ${STATUSES.join(", ")}` });
    }
    if (issues.length > 0) throw invalid(telegramId, issues);
    const roles = await this.requireRoles(input.roles ?? []);
    const user = await this.insertUser({
      telegramId,
      firstName: input.firstName.trim(),
      ...optionalProfile(input),
      isAdmin: input.isAdmin === true,
      roles,
      status: input.status ?? "active",
      data: await validateData(this.schema, input.data, telegramId),
    });
    await this.changed({ users: [telegramId] });
    return user;
  }

  async updateUser(telegramId: number, patch: UserPatch): Promise<User> {
    await this.init();
    checkId(telegramId);
    const set: Record<string, unknown> = {};
    const unset: Record<string, true> = {};
    const issues: ValidationIssue[] = [];
    if (patch.firstName !== undefined) {
      if (typeof patch.firstName !== "string" || patch.firstName.trim() === "") {
        issues.push({ path: "firstName", message: "expected a non-empty text" });
      } else set.firstName = patch.firstName.trim();
    }
    for (const key of ["lastName", "username", "languageCode"] as const) {
      if (!(key in patch)) continue;
      const value = patch[key];
      if (value !== undefined && typeof value !== "string") {
        issues.push({ path: key, message: "expected a text" });
        continue;
      }
      const clean = optionalProfile({ [key]: value })[key];
      if (clean === undefined) unset[key] = true;
      else set[key] = clean;
    }
    if (patch.isAdmin !== undefined) {
      if (typeof patch.isAdmin !== "boolean")
        issues.push({ path: "isAdmin", message: "expected true or false" });
      else set.isAdmin = patch.isAdmin;
    }
    if (patch.status !== undefined) {
      if (!STATUSES.includes(patch.status)) {
        issues.push({ path: "status", message: `expected one of ${STATUSES.join(", ")}` });
      } else set.status = patch.status;
    }
    if (issues.length > 0) throw invalid(telegramId, issues);
    if (patch.roles !== undefined) set.roles = await this.requireRoles(patch.roles);
    if (patch.data !== undefined)
      set.data = await validateData(this.schema, patch.data, telegramId);
    const update: Record<string, unknown> = {};
    if (Object.keys(set).length > 0) update.$set = set;
    if (Object.keys(unset).length > 0) update.$unset = unset;
    const doc =
      Object.keys(update).length === 0
        ? await this.users.findOne({ telegramId: literal(telegramId) })
        : await this.users.findOneAndUpdate({ telegramId: literal(telegramId) }, update);
    if (doc === null) throw this.userNotFound(telegramId);
    await this.changed({ users: [telegramId] });
    return toUser(doc);
  }

  async deleteUser(telegramId: number): Promise<boolean> {
    await this.init();
    checkId(telegramId);
    const { deletedCount } = await this.users.deleteOne({ telegramId: literal(telegramId) });
    if (deletedCount === 0) return false;
    await this.permissions.updateMany({ users: telegramId }, { $pull: { users: telegramId } });
    await this.changed({ users: [telegramId] });
    return true;
  }

  async assignRole(role: string, telegramId: number): Promise<User> {
    await this.init();
    await this.requireRoles([role]);
    const doc = await this.users.findOneAndUpdate(
      { telegramId: literal(checkId(telegramId)) },
      { $addToSet: { roles: role } },
    );
    if (doc === null) throw this.userNotFound(telegramId);
    await this.changed({ users: [telegramId] });
    return toUser(doc);
  }

  async unassignRole(role: string, telegramId: number): Promise<User> {
    await this.init();
    await this.requireRoles([role]);
    const doc = await this.users.findOneAndUpdate(
      { telegramId: literal(checkId(telegramId)) },
      { $pull: { roles: role } },
    );
    if (doc === null) throw this.userNotFound(telegramId);
    await this.changed({ users: [telegramId] });
    return toUser(doc);
  }

  async decide(telegramId: number, approve: boolean): Promise<Decision> {
    await this.init();
    checkId(telegramId);
    // The status condition makes the decision a compare-and-set: one caller wins.
    const doc = await this.users.findOneAndUpdate(
      { telegramId: literal(telegramId), status: "pending" },
      { $set: { status: approve ? "active" : "blocked" } },
    );
    if (doc !== null) {
      await this.changed({ users: [telegramId] });
      return { outcome: "applied", user: toUser(doc) };
    }
    const current = await this.readUser(telegramId);
    return current === null ? { outcome: "missing" } : { outcome: "already", user: current };
  }

  /** Makes these users admins (creating them when missing): the `users.admins` setting. */
  async ensureAdmins(telegramIds: readonly number[]): Promise<void> {
    await this.init();
    const changed: number[] = [];
    for (const telegramId of telegramIds) {
      const before = await this.users.findOneAndUpdate(
        { telegramId: checkId(telegramId) },
        {
          $set: { isAdmin: true, status: "active" },
          $setOnInsert: {
            firstName: `Admin ${telegramId}`,
            roles: [],
            data: await validateData(this.schema, undefined, telegramId),
          },
        },
        { upsert: true, returnDocument: "before" },
      );
      if (before === null || !before.isAdmin || before.status !== "active")
        changed.push(telegramId);
    }
    if (changed.length > 0) await this.changed({ users: changed });
  }

  fields(): readonly UserField[] {
    return describeFields(this.schema);
  }

  // ---- roles -----------------------------------------------------------------------------

  async listRoles(): Promise<Role[]> {
    await this.init();
    const docs = await this.roles.find({}, { sort: { name: 1 } });
    return docs.map((doc) => ({
      name: doc.name,
      ...(doc.description === undefined ? {} : { description: doc.description }),
      createdAt: doc.createdAt,
    }));
  }

  async createRole(input: { name: string; description?: string }): Promise<Role> {
    await this.init();
    const name = typeof input.name === "string" ? input.name.trim() : "";
    if (!/^[\p{L}\p{N}_.-]{1,64}$/u.test(name)) {
      throw new KamihiError(
        "KAMIHI_USER_INVALID",
        `"${String(input.name).slice(0, 80)}" is not a valid role name: use 1 to 64 letters, digits, "_", "-" or ".".`,
      );
    }
    try {
      const doc = await this.roles.insertOne({
        name,
        ...(input.description?.trim() ? { description: input.description.trim() } : {}),
      });
      return {
        name: doc.name,
        ...(doc.description ? { description: doc.description } : {}),
        createdAt: doc.createdAt,
      };
    } catch (error) {
      if (isKamihiError(error, "KAMIHI_DB_DUPLICATE_KEY")) {
        throw new KamihiError("KAMIHI_ROLE_EXISTS", `The role "${name}" already exists.`, {
          details: { role: name },
        });
      }
      throw error;
    }
  }

  async deleteRole(name: string): Promise<boolean> {
    await this.init();
    const role = checkRoleName(name);
    const { deletedCount } = await this.roles.deleteOne({ name: literal(role) });
    if (deletedCount === 0) return false;
    const members = await this.memberIds([role]);
    // Plain equalities on array fields (match an element); `role` is a checked text.
    await this.users.updateMany({ roles: role }, { $pull: { roles: role } });
    await this.permissions.updateMany({ roles: role }, { $pull: { roles: role } });
    await this.changed(members);
    return true;
  }

  // ---- permissions -----------------------------------------------------------------------

  async listPermissions(): Promise<Permission[]> {
    await this.init();
    const docs = await this.permissions.find({}, { sort: { action: 1 } });
    return docs.map((doc) => ({
      action: doc.action,
      users: [...doc.users],
      roles: [...doc.roles],
    }));
  }

  async grant(action: string, to: { users?: number[]; roles?: string[] }): Promise<Permission> {
    await this.init();
    this.requireAction(action);
    const users = await this.requireUsers(to.users ?? []);
    const roles = await this.requireRoles(to.roles ?? []);
    const doc = await this.permissions.findOneAndUpdate(
      // A plain equality (checked to be a text above), so an upsert copies it into the document.
      { action },
      {
        $addToSet: { users: { $each: users }, roles: { $each: roles } },
      },
      { upsert: true },
    );
    await this.changed(await this.affected(users, roles));
    return toPermission(doc, action);
  }

  async revoke(action: string, from: { users?: number[]; roles?: string[] }): Promise<Permission> {
    await this.init();
    this.requireAction(action);
    const users = (from.users ?? []).map(checkId);
    const roles = (from.roles ?? []).map(checkRoleName);
    let doc = await this.permissions.findOne({ action: literal(action) });
    for (const user of users) {
      doc = await this.permissions.findOneAndUpdate(
        { action: literal(action) },
        { $pull: { users: user } },
      );
    }
    for (const role of roles) {
      doc = await this.permissions.findOneAndUpdate(
        { action: literal(action) },
        { $pull: { roles: role } },
      );
    }
    await this.changed(await this.affected(users, roles));
    return toPermission(doc, action);
  }

  async removePermission(action: string): Promise<boolean> {
    await this.init();
    const doc = await this.permissions.findOne({ action: literal(action) });
    if (doc === null) return false;
    await this.permissions.deleteOne({ action: literal(action) });
    await this.changed(await this.affected(doc.users, doc.roles));
    return true;
  }

  // ---- the change log --------------------------------------------------------------------

  onChange(listener: (change: AccessChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  refresh(): Promise<AccessChange[]> {
    this.refreshing ??= this.readChanges().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async readChanges(): Promise<AccessChange[]> {
    await this.init();
    const found: AccessChange[] = [];
    for (;;) {
      const docs = await this.changes.find(
        { seq: { $gt: this.lastSeq } },
        { sort: { seq: 1 }, limit: 500 },
      );
      let stoppedAtGap = false;
      for (const doc of docs) {
        if (doc.seq !== this.lastSeq + 1) {
          // A writer took the number but has not written the change yet; wait for it a while,
          // then treat it as lost (the writer died): drop everything rather than miss it.
          this.gapSince ??= Date.now();
          if (Date.now() - this.gapSince < GAP_GRACE_MS) {
            stoppedAtGap = true;
            break;
          }
          found.push({ all: true });
        }
        this.gapSince = undefined;
        this.lastSeq = doc.seq;
        if (this.ownSeqs.delete(doc.seq)) continue;
        found.push(doc.all === true ? { all: true } : { users: doc.users ?? [] });
      }
      if (stoppedAtGap || docs.length < 500) break;
    }
    this.lastRefresh = Date.now();
    for (const change of found) this.apply(change);
    return found;
  }

  /** Records a change in the log (for the other instances) and applies it here at once. */
  private async changed(change: AccessChange): Promise<void> {
    this.apply(change);
    try {
      const counter = await this.counters.findOneAndUpdate(
        { name: "access" },
        { $inc: { seq: 1 } },
        { upsert: true },
      );
      const seq = counter?.seq;
      if (typeof seq !== "number")
        throw new KamihiError("KAMIHI_INTERNAL_BUG", "The change counter returned no number.");
      this.ownSeqs.add(seq);
      await this.changes.insertOne({
        seq,
        ...("all" in change ? { all: true } : { users: [...change.users] }),
        at: new Date(),
      });
    } catch (error) {
      // The write itself succeeded; other instances will see it after their cache time at worst
      // (a lost log entry shows up as a gap, which they treat as "everything changed").
      this.log.warn({ err: error }, "a change of access could not be written to the change log");
    }
  }

  private apply(change: AccessChange): void {
    this.cachedPermissions = undefined;
    if ("all" in change) this.cachedUsers.clear();
    else for (const id of change.users) this.cachedUsers.delete(id);
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch (error) {
        this.log.error({ err: error }, "an access change listener failed");
      }
    }
  }

  // ---- helpers ---------------------------------------------------------------------------

  private async readUser(telegramId: number): Promise<User | null> {
    const doc = await this.users.findOne({ telegramId: literal(telegramId) });
    return doc === null ? null : toUser(doc);
  }

  private remember(telegramId: number, user: User | null): void {
    if (this.cachedUsers.size >= MAX_CACHED_USERS) {
      const oldest = this.cachedUsers.keys().next();
      if (!oldest.done) this.cachedUsers.delete(oldest.value);
    }
    this.cachedUsers.set(telegramId, user);
  }

  /**
   * Refreshes the profile from Telegram and `lastSeenAt`, written behind (never delaying the
   * update) and at most once a minute per user unless the profile changed.
   */
  private touch(user: User, from: TelegramUser): User {
    const profile = profileOf(from);
    const differs =
      profile.firstName !== user.firstName ||
      profile.lastName !== user.lastName ||
      profile.username !== user.username ||
      profile.languageCode !== user.languageCode;
    const now = Date.now();
    const last = this.lastTouched.get(user.telegramId) ?? 0;
    if (!differs && now - last < TOUCH_INTERVAL_MS) return user;
    this.lastTouched.set(user.telegramId, now);
    if (this.lastTouched.size > MAX_CACHED_USERS) this.lastTouched.clear();
    const updated: User = { ...user, ...profile, lastSeenAt: new Date(now) };
    for (const key of ["lastName", "username", "languageCode"] as const) {
      if (profile[key] === undefined) delete updated[key];
    }
    this.cachedUsers.set(user.telegramId, updated);
    const unset = Object.fromEntries(
      (["lastName", "username", "languageCode"] as const)
        .filter((key) => profile[key] === undefined)
        .map((key) => [key, true as const]),
    );
    this.touches.push(user.telegramId, async () => {
      await this.users.updateOne(
        { telegramId: literal(user.telegramId) },
        {
          $set: { ...profile, lastSeenAt: updated.lastSeenAt },
          ...(Object.keys(unset).length > 0 ? { $unset: unset } : {}),
        },
      );
    });
    return updated;
  }

  private async insertUser(doc: UserDoc): Promise<User> {
    try {
      return toUser(await this.users.insertOne(doc));
    } catch (error) {
      if (isKamihiError(error, "KAMIHI_DB_DUPLICATE_KEY")) {
        throw new KamihiError(
          "KAMIHI_USER_EXISTS",
          `The user ${doc.telegramId} already exists; change them instead of adding them again.`,
          { details: { telegramId: doc.telegramId } },
        );
      }
      throw error;
    }
  }

  private async loadPermissions(): Promise<CachedPermissions> {
    if (this.cachedPermissions !== undefined) return this.cachedPermissions;
    const docs = await this.permissions.find({});
    const loaded: CachedPermissions = {
      byAction: new Map(
        docs.map((doc) => [doc.action, { users: new Set(doc.users), roles: new Set(doc.roles) }]),
      ),
    };
    this.cachedPermissions = loaded;
    return loaded;
  }

  private requireAction(action: string): void {
    if (typeof action !== "string" || action === "") {
      throw new KamihiError(
        "KAMIHI_PERMISSION_UNKNOWN_ACTION",
        "A permission needs an action name.",
      );
    }
    const known = this.actionNames?.();
    if (known === undefined || known.includes(action)) return;
    throw new KamihiError(
      "KAMIHI_PERMISSION_UNKNOWN_ACTION",
      `The bot has no action "${action}". Its actions: ${known.length === 0 ? "(none)" : known.join(", ")}.`,
      { details: { action, actions: [...known] } },
    );
  }

  private async requireRoles(names: readonly string[]): Promise<string[]> {
    const wanted = [...new Set(names.map(checkRoleName))];
    if (wanted.length === 0) return [];
    const existing = new Set((await this.roles.find({})).map((role) => role.name));
    const missing = wanted.filter((name) => !existing.has(name));
    if (missing.length > 0) {
      throw new KamihiError(
        "KAMIHI_ROLE_NOT_FOUND",
        `No role named ${missing.map((m) => `"${m}"`).join(", ")}. Roles: ${existing.size === 0 ? "(none yet; add one with `kamihi role add <name>`)" : [...existing].sort().join(", ")}.`,
        { details: { missing, roles: [...existing] } },
      );
    }
    return wanted;
  }

  /** Default roles that exist; a missing one is logged, not fatal for the user registering. */
  private async existingRoles(names: readonly string[]): Promise<string[]> {
    try {
      return await this.requireRoles(names);
    } catch (error) {
      if (!isKamihiError(error, "KAMIHI_ROLE_NOT_FOUND")) throw error;
      this.log.warn({ err: error }, "users.defaultRoles names a role that does not exist");
      const existing = new Set((await this.roles.find({})).map((role) => role.name));
      return names.filter((name) => existing.has(name));
    }
  }

  private async requireUsers(ids: readonly number[]): Promise<number[]> {
    const wanted = [...new Set(ids.map(checkId))];
    if (wanted.length === 0) return [];
    const found = await this.users.find(
      { telegramId: { $in: wanted } },
      { projection: { telegramId: 1 } },
    );
    const existing = new Set(found.map((doc) => doc.telegramId));
    const missing = wanted.filter((id) => !existing.has(id));
    if (missing.length > 0) {
      throw new KamihiError(
        "KAMIHI_USER_NOT_FOUND",
        `No user with Telegram id ${missing.join(", ")}; add them first (kamihi user add <telegramId>).`,
        { details: { missing } },
      );
    }
    return wanted;
  }

  private async memberIds(roles: readonly string[]): Promise<AccessChange> {
    if (roles.length === 0) return { users: [] };
    const byRole: Record<string, unknown> = { roles: { $in: [...roles] } };
    const members = await this.users.find(byRole, {
      projection: { telegramId: 1 },
      limit: MAX_IDS_PER_CHANGE + 1,
    });
    if (members.length > MAX_IDS_PER_CHANGE) return { all: true };
    return { users: members.map((doc) => doc.telegramId) };
  }

  private async affected(
    users: readonly number[],
    roles: readonly string[],
  ): Promise<AccessChange> {
    const members = await this.memberIds(roles);
    if ("all" in members) return members;
    return { users: [...new Set([...users, ...members.users])] };
  }

  private userNotFound(telegramId: number) {
    return new KamihiError(
      "KAMIHI_USER_NOT_FOUND",
      `No user with Telegram id ${telegramId}; \`kamihi user list\` shows the users there are.`,
      { details: { telegramId } },
    );
  }
}

/** Users, roles and permissions over a store; see {@link StoreUserService}. */
export function createUserService(options: UserServiceOptions): StoreUserService {
  return new StoreUserService(options);
}

function checkId(value: unknown): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value <= 0) {
    throw invalid(undefined, [
      {
        path: "telegramId",
        message: "expected a Telegram user id (a positive integer)",
        received: JSON.stringify(value) ?? String(value),
      },
    ]);
  }
  return value;
}

/** A role name as given: a non-empty text (never an object that could act as an operator). */
function checkRoleName(value: unknown): string {
  if (typeof value !== "string" || value.trim() === "") {
    throw new KamihiError(
      "KAMIHI_ROLE_NOT_FOUND",
      `A role name must be a non-empty text, not ${JSON.stringify(value) ?? String(value)}.`,
    );
  }
  return value.trim();
}

function checkStatus(value: unknown): UserStatus {
  if (!STATUSES.includes(value as UserStatus)) {
    throw badListQuery([
      {
        path: "status",
        message: `expected one of ${STATUSES.join(", ")}`,
        received: JSON.stringify(value) ?? String(value),
      },
    ]);
  }
  return value as UserStatus;
}

/** A listing asked for something it cannot be: which field, and what it takes. */
function badListQuery(issues: ValidationIssue[]) {
  return new KamihiValidationError(
    "KAMIHI_USER_INVALID",
    "Users could not be listed; fix these query fields:",
    issues,
  );
}

/**
 * The filter of a listing: equalities on the indexed fields, and the search as an escaped,
 * case-insensitive pattern (never a pattern or an operator of the caller's).
 */
function listFilter(query: UserQuery): Record<string, unknown> {
  const filter: Record<string, unknown> = {};
  if (query.role !== undefined) filter.roles = literal(query.role);
  if (query.status !== undefined) filter.status = literal(checkStatus(query.status));
  if (query.isAdmin !== undefined) filter.isAdmin = literal(query.isAdmin === true);
  if (query.search !== undefined && typeof query.search !== "string") {
    throw badListQuery([{ path: "search", message: "expected a text" }]);
  }
  const search = query.search?.trim();
  if (search) {
    const pattern = escapeRegex(search);
    const or: Record<string, unknown>[] = [
      { firstName: { $regex: pattern, $options: "i" } },
      { lastName: { $regex: pattern, $options: "i" } },
      { username: { $regex: pattern.replace(/^@/, ""), $options: "i" } },
    ];
    if (/^\d{1,16}$/.test(search)) or.push({ telegramId: Number(search) });
    filter.$or = or;
  }
  return filter;
}

/** The Telegram id in a cursor this service handed out (`next`). */
function cursorOf(after: unknown): number {
  const id = typeof after === "string" && /^\d{1,16}$/.test(after) ? Number(after) : Number.NaN;
  if (!Number.isSafeInteger(id)) {
    throw badListQuery([
      {
        path: "after",
        message: "expected a cursor from a previous page's `next`",
        received: JSON.stringify(after) ?? String(after),
      },
    ]);
  }
  return id;
}

function countLimitOf(value: unknown): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1) {
    throw badListQuery([
      {
        path: "countUpTo",
        message: "expected a positive whole number (or no countUpTo, to count every match)",
        received: JSON.stringify(value) ?? String(value),
      },
    ]);
  }
  return value;
}

/** A page of a listing from its documents (one more than `limit` when a next page follows). */
function pageOf(
  docs: readonly Stored<UserDoc>[],
  limit: number,
  counted: Pick<UserPage, "total" | "moreThanTotal">,
): UserPage {
  const users = docs.slice(0, limit).map(toUser);
  const last = users.at(-1);
  return {
    users,
    ...counted,
    ...(docs.length > limit && last !== undefined ? { next: String(last.telegramId) } : {}),
  };
}

/** The fields `toUser` reads: a listing fetches nothing else (no _id, no updatedAt). */
const LISTED_FIELDS: Record<string, 0 | 1> = {
  _id: 0,
  telegramId: 1,
  firstName: 1,
  lastName: 1,
  username: 1,
  languageCode: 1,
  isAdmin: 1,
  roles: 1,
  status: 1,
  data: 1,
  createdAt: 1,
  lastSeenAt: 1,
};

function checkProfile(input: NewUser): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  if (typeof input.firstName !== "string" || input.firstName.trim() === "") {
    issues.push({ path: "firstName", message: "expected a non-empty text" });
  }
  for (const key of ["lastName", "username", "languageCode"] as const) {
    if (input[key] !== undefined && typeof input[key] !== "string") {
      issues.push({ path: key, message: "expected a text" });
    }
  }
  return issues;
}

function optionalProfile(input: Pick<NewUser, "lastName" | "username" | "languageCode">) {
  return {
    ...(input.lastName?.trim() ? { lastName: input.lastName.trim() } : {}),
    ...(input.username?.trim() ? { username: input.username.trim().replace(/^@/, "") } : {}),
    ...(input.languageCode?.trim() ? { languageCode: input.languageCode.trim() } : {}),
  };
}

function profileOf(from: TelegramUser) {
  return {
    telegramId: from.id,
    firstName: from.first_name,
    ...optionalProfile({
      ...(from.last_name === undefined ? {} : { lastName: from.last_name }),
      ...(from.username === undefined ? {} : { username: from.username }),
      ...(from.language_code === undefined ? {} : { languageCode: from.language_code }),
    }),
  } as {
    telegramId: number;
    firstName: string;
    lastName?: string;
    username?: string;
    languageCode?: string;
  };
}

function toUser(doc: Stored<UserDoc>): User {
  return {
    telegramId: doc.telegramId,
    firstName: doc.firstName,
    ...(doc.lastName === undefined ? {} : { lastName: doc.lastName }),
    ...(doc.username === undefined ? {} : { username: doc.username }),
    ...(doc.languageCode === undefined ? {} : { languageCode: doc.languageCode }),
    isAdmin: doc.isAdmin === true,
    roles: [...(doc.roles ?? [])],
    status: doc.status ?? "active",
    data: { ...(doc.data ?? {}) },
    createdAt: doc.createdAt,
    ...(doc.lastSeenAt === undefined ? {} : { lastSeenAt: doc.lastSeenAt }),
  };
}

function toPermission(doc: PermissionDoc | null, action: string): Permission {
  return { action, users: [...(doc?.users ?? [])], roles: [...(doc?.roles ?? [])] };
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
