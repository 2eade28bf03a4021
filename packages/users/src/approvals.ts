import { type Decision, literal } from "@kamihi/core";
import type { ServiceContext } from "./context.js";
import { toUser } from "./documents.js";
import { checkId } from "./user-input.js";
import { readUser } from "./user-records.js";

/**
 * Approves (`active`) or denies (`blocked`) a pending user, once: the update only matches a
 * user still pending, so of admins deciding at the same time one gets `applied` and the
 * others `already`.
 */
export async function decide(
  ctx: ServiceContext,
  telegramId: number,
  approve: boolean,
): Promise<Decision> {
  checkId(telegramId);
  const doc = await ctx.users.findOneAndUpdate(
    { telegramId: literal(telegramId), status: "pending" },
    { $set: { status: approve ? "active" : "blocked" } },
  );
  if (doc !== null) {
    await ctx.changeLog.record({ users: [telegramId] });
    return { outcome: "applied", user: toUser(doc) };
  }
  const current = await readUser(ctx.users, telegramId);
  return current === null ? { outcome: "missing" } : { outcome: "already", user: current };
}
