import { type Collection, isKamihiError, KamihiError, type Logger } from "@kamihi/core";
import type { RoleDoc, UserDoc } from "./documents.js";
import { checkRoleName } from "./role-name.js";
import { checkId } from "./user-input.js";

// The users, roles and actions a call names: checked to exist before anything is written, or
// refused with an error that lists what there is.

/** These ids, each once, when every one is a stored user; else `KAMIHI_USER_NOT_FOUND`. */
export async function requireUsers(
  users: Collection<UserDoc>,
  ids: readonly number[],
): Promise<number[]> {
  const wanted = [...new Set(ids.map(checkId))];
  if (wanted.length === 0) return [];
  const found = await users.find(
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

/**
 * These role names, trimmed and each once, when every one is a stored role; else
 * `KAMIHI_ROLE_INVALID_NAME` (not a name at all) or `KAMIHI_ROLE_NOT_FOUND` (with the roles
 * there are).
 */
export async function requireRoles(
  roles: Collection<RoleDoc>,
  names: readonly string[],
): Promise<string[]> {
  const wanted = [...new Set(names.map(checkRoleName))];
  if (wanted.length === 0) return [];
  const existing = new Set((await roles.find({})).map((role) => role.name));
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

/**
 * The default roles that exist: one that is missing (or no name at all) is logged, never in the
 * way of a user registering.
 */
export async function existingRoles(
  roles: Collection<RoleDoc>,
  names: readonly string[],
  log: Logger,
): Promise<string[]> {
  try {
    return await requireRoles(roles, names);
  } catch (error) {
    if (
      !isKamihiError(error, "KAMIHI_ROLE_NOT_FOUND") &&
      !isKamihiError(error, "KAMIHI_ROLE_INVALID_NAME")
    ) {
      throw error;
    }
    log.warn({ err: error }, "users.defaultRoles names a role that does not exist");
    const existing = new Set((await roles.find({})).map((role) => role.name));
    return names.filter((name) => existing.has(name));
  }
}

/** Refuses an action the bot does not have (when it says which it has): `KAMIHI_PERMISSION_UNKNOWN_ACTION`. */
export function requireAction(
  actionNames: (() => readonly string[]) | undefined,
  action: string,
): void {
  if (typeof action !== "string" || action === "") {
    throw new KamihiError("KAMIHI_PERMISSION_UNKNOWN_ACTION", "A permission needs an action name.");
  }
  const known = actionNames?.();
  if (known === undefined || known.includes(action)) return;
  throw new KamihiError(
    "KAMIHI_PERMISSION_UNKNOWN_ACTION",
    `The bot has no action "${action}". Its actions: ${known.length === 0 ? "(none)" : known.join(", ")}.`,
    { details: { action, actions: [...known] } },
  );
}
