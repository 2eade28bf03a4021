import type { Collection, Permission, Role, Store, Stored, User } from "@kamihi/core";

/** A user as stored; `createdAt` (and `updatedAt`) are base fields of every document. */
export type UserDoc = Omit<User, "createdAt"> & Record<string, unknown>;
/** A role as stored. */
export type RoleDoc = Omit<Role, "createdAt"> & Record<string, unknown>;
/** Who may run one action, as stored (one document per action). */
export type PermissionDoc = Permission & Record<string, unknown>;

/** One entry of the change log: the users a write touched (or everyone), numbered in order. */
export interface ChangeDoc extends Record<string, unknown> {
  seq: number;
  users?: number[];
  all?: boolean;
  /** When the change was made; the log forgets entries a day old. */
  at: Date;
}

/** A named counter; the change log numbers its entries with the one named `access`. */
export interface CounterDoc extends Record<string, unknown> {
  name: string;
  seq: number;
}

/** The collections the service keeps in its store. */
export interface Collections {
  users: Collection<UserDoc>;
  roles: Collection<RoleDoc>;
  permissions: Collection<PermissionDoc>;
  changes: Collection<ChangeDoc>;
  counters: Collection<CounterDoc>;
}

/** The service's collections in `store`. */
export function openCollections(store: Store): Collections {
  return {
    users: store.collection<UserDoc>("users"),
    roles: store.collection<RoleDoc>("roles"),
    permissions: store.collection<PermissionDoc>("permissions"),
    changes: store.collection<ChangeDoc>("access_changes"),
    counters: store.collection<CounterDoc>("counters"),
  };
}

/** Creates every index the service relies on (idempotent, as the store's `createIndex` is). */
export async function createIndexes(collections: Collections): Promise<void> {
  const { users, roles, permissions, changes, counters } = collections;
  await Promise.all([
    users.createIndex({ keys: { telegramId: 1 }, unique: true }),
    users.createIndex({ keys: { roles: 1 } }),
    // The admin's listing: each filter, then the telegramId order it pages in.
    users.createIndex({ keys: { status: 1, telegramId: 1 } }),
    users.createIndex({ keys: { isAdmin: 1, telegramId: 1 } }),
    users.createIndex({ keys: { roles: 1, telegramId: 1 } }),
    roles.createIndex({ keys: { name: 1 }, unique: true }),
    permissions.createIndex({ keys: { action: 1 }, unique: true }),
    changes.createIndex({ keys: { seq: 1 }, unique: true }),
    changes.createIndex({ keys: { at: 1 }, expireAfterSeconds: 86_400 }),
    counters.createIndex({ keys: { name: 1 }, unique: true }),
  ]);
}

/** A stored user as the port shows it: no store fields, defaults for what an old one lacks. */
export function toUser(doc: Stored<UserDoc>): User {
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

/** A stored role as the port shows it. */
export function toRole(doc: Stored<RoleDoc>): Role {
  return {
    name: doc.name,
    ...(doc.description === undefined ? {} : { description: doc.description }),
    createdAt: doc.createdAt,
  };
}

/** A stored permission (or none: nobody) as the port shows it. */
export function toPermission(doc: PermissionDoc | null, action: string): Permission {
  return { action, users: [...(doc?.users ?? [])], roles: [...(doc?.roles ?? [])] };
}
