import { literal, type Permission } from "@kamihi/core";
import { affected } from "./affected.js";
import type { ServiceContext } from "./context.js";
import { toPermission } from "./documents.js";
import { requireAction, requireRoles, requireUsers } from "./references.js";
import { checkRoleName } from "./role-name.js";
import { checkId } from "./user-input.js";

// Who may run each action: one document per action, naming users and roles.

/** Who may run what, sorted by action. */
export async function listPermissions(ctx: ServiceContext): Promise<Permission[]> {
  const docs = await ctx.permissions.find({}, { sort: { action: 1 } });
  return docs.map((doc) => ({ action: doc.action, users: [...doc.users], roles: [...doc.roles] }));
}

/** Lets these users and roles (which must exist) run `action`, adding to what is there. */
export async function grant(
  ctx: ServiceContext,
  action: string,
  to: { users?: number[]; roles?: string[] },
): Promise<Permission> {
  requireAction(ctx.actionNames, action);
  const users = await requireUsers(ctx.users, to.users ?? []);
  const roles = await requireRoles(ctx.roles, to.roles ?? []);
  const doc = await ctx.permissions.findOneAndUpdate(
    // A plain equality (checked to be a text above), so an upsert copies it into the document.
    { action },
    { $addToSet: { users: { $each: users }, roles: { $each: roles } } },
    { upsert: true },
  );
  await ctx.changeLog.record(await affected(ctx.users, users, roles));
  return toPermission(doc, action);
}

/** Takes these users and roles off `action` (whether they exist or not). */
export async function revoke(
  ctx: ServiceContext,
  action: string,
  from: { users?: number[]; roles?: string[] },
): Promise<Permission> {
  requireAction(ctx.actionNames, action);
  const users = (from.users ?? []).map(checkId);
  const roles = (from.roles ?? []).map(checkRoleName);
  let doc = await ctx.permissions.findOne({ action: literal(action) });
  for (const user of users) {
    doc = await ctx.permissions.findOneAndUpdate(
      { action: literal(action) },
      { $pull: { users: user } },
    );
  }
  for (const role of roles) {
    doc = await ctx.permissions.findOneAndUpdate(
      { action: literal(action) },
      { $pull: { roles: role } },
    );
  }
  await ctx.changeLog.record(await affected(ctx.users, users, roles));
  return toPermission(doc, action);
}

/** Takes every grant of `action` away; `false` when there was none. */
export async function removePermission(ctx: ServiceContext, action: string): Promise<boolean> {
  const doc = await ctx.permissions.findOne({ action: literal(action) });
  if (doc === null) return false;
  await ctx.permissions.deleteOne({ action: literal(action) });
  await ctx.changeLog.record(await affected(ctx.users, doc.users, doc.roles));
  return true;
}
