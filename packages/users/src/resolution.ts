import {
  isKamihiError,
  type Resolution,
  type TelegramUser,
  type User,
  type UserStatus,
} from "@kamihi/core";
import type { ServiceContext } from "./context.js";
import { validateData } from "./fields.js";
import { existingRoles } from "./references.js";
import { profileOf } from "./user-input.js";
import { insertUser, readUser } from "./user-records.js";

/**
 * Finds the sender of an update, from the cache when it can (a stranger is cached too), and
 * registers them as the registration setting says.
 */
export async function resolve(ctx: ServiceContext, from: TelegramUser): Promise<Resolution> {
  await ctx.changeLog.refreshIfStale();
  let user = ctx.cache.user(from.id);
  if (user === undefined) {
    user = await readUser(ctx.users, from.id);
    ctx.cache.remember(from.id, user);
  }
  if (user !== null) return resolved(ctx.lastSeen.touch(user, from));
  if (ctx.registration === "closed") return { outcome: "unknown" };
  return register(ctx, from);
}

/** Registers a stranger: active with the default roles, or pending an admin's decision. */
async function register(ctx: ServiceContext, from: TelegramUser): Promise<Resolution> {
  const status: UserStatus = ctx.registration === "open" ? "active" : "pending";
  const now = new Date(ctx.clock());
  try {
    const created = await insertUser(ctx.users, {
      ...profileOf(from),
      isAdmin: false,
      roles: await existingRoles(ctx.roles, ctx.defaultRoles, ctx.log),
      status,
      data: await validateData(ctx.schema, undefined, from.id),
      createdAt: now,
      lastSeenAt: now,
    });
    ctx.log.info({ userId: from.id, status }, "a user registered");
    ctx.cache.remember(from.id, created);
    return { outcome: "registered", user: created };
  } catch (error) {
    // Two updates of a new user at once (or two instances): the other one registered them.
    if (!isKamihiError(error, "KAMIHI_USER_EXISTS")) throw error;
    const existing = await readUser(ctx.users, from.id);
    if (existing === null) throw error;
    ctx.cache.remember(from.id, existing);
    return resolved(existing);
  }
}

function resolved(user: User): Resolution {
  return user.status === "active" ? { outcome: "known", user } : { outcome: user.status, user };
}
