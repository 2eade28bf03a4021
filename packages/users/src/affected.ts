import type { AccessChange, Collection } from "@kamihi/core";
import type { UserDoc } from "./documents.js";

/** Above this many users a change is recorded as "everyone" rather than by id. */
export const MAX_IDS_PER_CHANGE = 1000;

/** The members of these roles, as a change of access (everyone, when they are too many). */
export async function membersOf(
  users: Collection<UserDoc>,
  roles: readonly string[],
): Promise<AccessChange> {
  if (roles.length === 0) return { users: [] };
  const byRole: Record<string, unknown> = { roles: { $in: [...roles] } };
  const members = await users.find(byRole, {
    projection: { telegramId: 1 },
    limit: MAX_IDS_PER_CHANGE + 1,
  });
  if (members.length > MAX_IDS_PER_CHANGE) return { all: true };
  return { users: members.map((doc) => doc.telegramId) };
}

/** The change of access of a write that names these users and roles. */
export async function affected(
  users: Collection<UserDoc>,
  ids: readonly number[],
  roles: readonly string[],
): Promise<AccessChange> {
  const members = await membersOf(users, roles);
  if ("all" in members) return members;
  return { users: [...new Set([...ids, ...members.users])] };
}
