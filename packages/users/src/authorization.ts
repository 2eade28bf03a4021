import type { User } from "@kamihi/core";
import type { Grant } from "./cache.js";
import type { ServiceContext } from "./context.js";

// Who may run what, from the cached permissions: admins everything, others what a grant gives
// them or one of their roles; blocked and pending users nothing, admins included.

/** True when `user` may run `action`. */
export async function can(ctx: ServiceContext, user: User, action: string): Promise<boolean> {
  if (user.status !== "active") return false;
  if (user.isAdmin) return true;
  const grant = (await ctx.cache.permissionsByAction()).get(action);
  return grant !== undefined && isGranted(grant, user);
}

/** The actions `user` may run, in the order of the bot's actions when it said which it has. */
export async function allowedActions(ctx: ServiceContext, user: User): Promise<string[]> {
  const known = ctx.actionNames?.();
  if (user.status !== "active") return [];
  if (user.isAdmin) return [...(known ?? (await ctx.cache.permissionsByAction()).keys())];
  const grants = await ctx.cache.permissionsByAction();
  const allowed: string[] = [];
  for (const [action, grant] of grants) {
    if (known !== undefined && !known.includes(action)) continue;
    if (isGranted(grant, user)) allowed.push(action);
  }
  return known === undefined ? allowed : known.filter((name) => allowed.includes(name));
}

function isGranted(grant: Grant, user: User): boolean {
  return grant.users.has(user.telegramId) || user.roles.some((role) => grant.roles.has(role));
}
