import type { ServiceContext } from "./context.js";
import { validateData } from "./fields.js";
import { checkId } from "./user-input.js";

/**
 * Makes these Telegram ids admins (the `users.admins` setting): active admins, created when
 * missing. Idempotent: only the users it changed are recorded as a change of access.
 */
export async function ensureAdmins(
  ctx: ServiceContext,
  telegramIds: readonly number[],
): Promise<void> {
  const changed: number[] = [];
  for (const id of telegramIds) {
    const telegramId = checkId(id);
    const before = await ctx.users.findOneAndUpdate(
      { telegramId },
      {
        $set: { isAdmin: true, status: "active" },
        $setOnInsert: {
          firstName: `Admin ${telegramId}`,
          roles: [],
          data: await validateData(ctx.schema, undefined, telegramId),
          createdAt: new Date(ctx.clock()),
        },
      },
      { upsert: true, returnDocument: "before" },
    );
    if (before === null || !before.isAdmin || before.status !== "active") changed.push(telegramId);
  }
  if (changed.length > 0) await ctx.changeLog.record({ users: changed });
}
