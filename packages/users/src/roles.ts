import {
  isKamihiError,
  KamihiError,
  literal,
  type Role,
  type UpdateFilter,
  type User,
} from "@kamihi/core";
import { membersOf } from "./affected.js";
import type { ServiceContext } from "./context.js";
import { toRole, toUser, type UserDoc } from "./documents.js";
import { requireRoles } from "./references.js";
import { checkNewRoleName, checkRoleName } from "./role-name.js";
import { checkId } from "./user-input.js";
import { userNotFound } from "./user-records.js";

// Roles, and who has them.

/** Every role, sorted by name. */
export async function listRoles(ctx: ServiceContext): Promise<Role[]> {
  const docs = await ctx.roles.find({}, { sort: { name: 1 } });
  return docs.map(toRole);
}

/** Adds a role: `KAMIHI_ROLE_INVALID_NAME`, `KAMIHI_ROLE_EXISTS`. */
export async function createRole(
  ctx: ServiceContext,
  input: { name: string; description?: string },
): Promise<Role> {
  const name = checkNewRoleName(input.name);
  try {
    const doc = await ctx.roles.insertOne({
      name,
      ...(input.description?.trim() ? { description: input.description.trim() } : {}),
      createdAt: new Date(ctx.clock()),
    });
    return toRole(doc);
  } catch (error) {
    if (isKamihiError(error, "KAMIHI_DB_DUPLICATE_KEY")) {
      throw new KamihiError("KAMIHI_ROLE_EXISTS", `The role "${name}" already exists.`, {
        details: { role: name },
      });
    }
    throw error;
  }
}

/** Deletes a role and takes it off its members and permissions; `false` when there was none. */
export async function deleteRole(ctx: ServiceContext, name: string): Promise<boolean> {
  const role = checkRoleName(name);
  const { deletedCount } = await ctx.roles.deleteOne({ name: literal(role) });
  if (deletedCount === 0) return false;
  const members = await membersOf(ctx.users, [role]);
  // Plain equalities on array fields (match an element); `role` is a checked text.
  await ctx.users.updateMany({ roles: role }, { $pull: { roles: role } });
  await ctx.permissions.updateMany({ roles: role }, { $pull: { roles: role } });
  await ctx.changeLog.record(members);
  return true;
}

/** Gives a user a role (both must exist; having it already is fine). */
export async function assignRole(
  ctx: ServiceContext,
  role: string,
  telegramId: number,
): Promise<User> {
  const name = checkRoleName(role);
  await requireRoles(ctx.roles, [name]);
  return changeRoles(ctx, telegramId, { $addToSet: { roles: name } });
}

/** Takes a role off a user (the role must exist; not having it is fine). */
export async function unassignRole(
  ctx: ServiceContext,
  role: string,
  telegramId: number,
): Promise<User> {
  const name = checkRoleName(role);
  await requireRoles(ctx.roles, [name]);
  return changeRoles(ctx, telegramId, { $pull: { roles: name } });
}

async function changeRoles(
  ctx: ServiceContext,
  telegramId: number,
  update: UpdateFilter<UserDoc>,
): Promise<User> {
  const doc = await ctx.users.findOneAndUpdate(
    { telegramId: literal(checkId(telegramId)) },
    update,
  );
  if (doc === null) throw userNotFound(telegramId);
  await ctx.changeLog.record({ users: [telegramId] });
  return toUser(doc);
}
