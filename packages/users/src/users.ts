import {
  literal,
  type NewUser,
  type User,
  type UserPatch,
  type ValidationIssue,
} from "@kamihi/core";
import type { ServiceContext } from "./context.js";
import { toUser } from "./documents.js";
import { invalid, validateData } from "./fields.js";
import { requireRoles } from "./references.js";
import { checkId, checkProfile, optionalProfile, STATUSES } from "./user-input.js";
import { insertUser, readUser, userNotFound } from "./user-records.js";

// Users by Telegram id: read, create, change and delete. Every write is checked whole before
// anything is stored, and recorded in the change log.

/** The stored user, or `null`. */
export function getUser(ctx: ServiceContext, telegramId: number): Promise<User | null> {
  return readUser(ctx.users, checkId(telegramId));
}

/** Adds a user: `KAMIHI_USER_INVALID` listing every bad field, `KAMIHI_USER_EXISTS`. */
export async function createUser(ctx: ServiceContext, input: NewUser): Promise<User> {
  const telegramId = checkId(input.telegramId);
  const issues = checkProfile(input);
  if (input.status !== undefined && !STATUSES.includes(input.status)) {
    issues.push({ path: "status", message: `expected one of ${STATUSES.join(", ")}` });
  }
  if (issues.length > 0) throw invalid(telegramId, issues);
  const roles = await requireRoles(ctx.roles, input.roles ?? []);
  const user = await insertUser(ctx.users, {
    telegramId,
    firstName: input.firstName.trim(),
    ...optionalProfile(input),
    isAdmin: input.isAdmin === true,
    roles,
    status: input.status ?? "active",
    data: await validateData(ctx.schema, input.data, telegramId),
    createdAt: new Date(ctx.clock()),
  });
  await ctx.changeLog.record({ users: [telegramId] });
  return user;
}

/** Changes a user's fields; an empty optional name field removes it. */
export async function updateUser(
  ctx: ServiceContext,
  telegramId: number,
  patch: UserPatch,
): Promise<User> {
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
  if (patch.roles !== undefined) set.roles = await requireRoles(ctx.roles, patch.roles);
  if (patch.data !== undefined) set.data = await validateData(ctx.schema, patch.data, telegramId);
  const update: Record<string, unknown> = {};
  if (Object.keys(set).length > 0) update.$set = set;
  if (Object.keys(unset).length > 0) update.$unset = unset;
  const doc =
    Object.keys(update).length === 0
      ? await ctx.users.findOne({ telegramId: literal(telegramId) })
      : await ctx.users.findOneAndUpdate({ telegramId: literal(telegramId) }, update);
  if (doc === null) throw userNotFound(telegramId);
  await ctx.changeLog.record({ users: [telegramId] });
  return toUser(doc);
}

/** Deletes a user and takes them off every permission; `false` when there was none. */
export async function deleteUser(ctx: ServiceContext, telegramId: number): Promise<boolean> {
  checkId(telegramId);
  const { deletedCount } = await ctx.users.deleteOne({ telegramId: literal(telegramId) });
  if (deletedCount === 0) return false;
  await ctx.permissions.updateMany({ users: telegramId }, { $pull: { users: telegramId } });
  await ctx.changeLog.record({ users: [telegramId] });
  return true;
}
