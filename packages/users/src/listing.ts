import {
  KamihiValidationError,
  literal,
  type Stored,
  type UserPage,
  type UserQuery,
  type UserStatus,
  type ValidationIssue,
} from "@kamihi/core";
import type { ServiceContext } from "./context.js";
import { toUser, type UserDoc } from "./documents.js";
import { STATUSES } from "./user-input.js";

/** The largest page a listing gives. */
const MAX_PAGE = 1000;

/** The fields `toUser` reads: a listing fetches nothing else (no _id, no updatedAt). */
const LISTED_FIELDS: Record<string, 0 | 1> = {
  _id: 0,
  telegramId: 1,
  firstName: 1,
  lastName: 1,
  username: 1,
  languageCode: 1,
  isAdmin: 1,
  roles: 1,
  status: 1,
  data: 1,
  createdAt: 1,
  lastSeenAt: 1,
};

/**
 * One page of users in Telegram id order, with how many match (exactly, or up to
 * `countUpTo`). Bad query fields are `KAMIHI_USER_QUERY_INVALID` naming each one.
 */
export async function listUsers(ctx: ServiceContext, query: UserQuery = {}): Promise<UserPage> {
  const filter = listFilter(query);
  const limit = Math.min(Math.max(Math.trunc(query.limit ?? 50), 1), MAX_PAGE);
  const after = query.after === undefined ? undefined : cursorOf(query.after);
  if (query.countUpTo === undefined) {
    const [docs, total] = await Promise.all([
      findPage(ctx, filter, after, limit),
      ctx.users.countDocuments(filter),
    ]);
    return pageOf(docs, limit, { total });
  }
  const upTo = countLimitOf(query.countUpTo);
  // Up to upTo + 1 matches in any order, so the store stops there. When that is all of them
  // (a search, a narrow filter), they give the page and the exact count in this one pass.
  const matches = await ctx.users.find(filter, { limit: upTo + 1, projection: LISTED_FIELDS });
  if (matches.length <= upTo) {
    const rest = after === undefined ? matches : matches.filter((d) => d.telegramId > after);
    rest.sort((a, b) => a.telegramId - b.telegramId);
    return pageOf(rest.slice(0, limit + 1), limit, { total: matches.length });
  }
  return pageOf(await findPage(ctx, filter, after, limit), limit, {
    total: upTo,
    moreThanTotal: true,
  });
}

/**
 * One page (and one user more, to tell whether another page follows) in telegramId order,
 * after the cursor: keyset paging, which the listing indexes serve after each filter, so a
 * later page costs what the first does where skipping would pass over every earlier user.
 */
function findPage(
  ctx: ServiceContext,
  filter: Record<string, unknown>,
  after: number | undefined,
  limit: number,
) {
  return ctx.users.find(after === undefined ? filter : { ...filter, telegramId: { $gt: after } }, {
    sort: { telegramId: 1 },
    limit: limit + 1,
    projection: LISTED_FIELDS,
  });
}

/**
 * The filter of a listing: equalities on the indexed fields, and the search as an escaped,
 * case-insensitive pattern (never a pattern or an operator of the caller's).
 */
function listFilter(query: UserQuery): Record<string, unknown> {
  const filter: Record<string, unknown> = {};
  if (query.role !== undefined) filter.roles = literal(query.role);
  if (query.status !== undefined) filter.status = literal(checkStatus(query.status));
  if (query.isAdmin !== undefined) filter.isAdmin = literal(query.isAdmin === true);
  if (query.search !== undefined && typeof query.search !== "string") {
    throw badListQuery([{ path: "search", message: "expected a text" }]);
  }
  const search = query.search?.trim();
  if (search) {
    const pattern = escapeRegex(search);
    const or: Record<string, unknown>[] = [
      { firstName: { $regex: pattern, $options: "i" } },
      { lastName: { $regex: pattern, $options: "i" } },
      { username: { $regex: pattern.replace(/^@/, ""), $options: "i" } },
    ];
    if (/^\d{1,16}$/.test(search)) or.push({ telegramId: Number(search) });
    filter.$or = or;
  }
  return filter;
}

function checkStatus(value: unknown): UserStatus {
  if (!STATUSES.includes(value as UserStatus)) {
    throw badListQuery([
      {
        path: "status",
        message: `expected one of ${STATUSES.join(", ")}`,
        received: JSON.stringify(value) ?? String(value),
      },
    ]);
  }
  return value as UserStatus;
}

/** The Telegram id in a cursor this service handed out (`next`). */
function cursorOf(after: unknown): number {
  const id = typeof after === "string" && /^\d{1,16}$/.test(after) ? Number(after) : Number.NaN;
  if (!Number.isSafeInteger(id)) {
    throw badListQuery([
      {
        path: "after",
        message: "expected a cursor from a previous page's `next`",
        received: JSON.stringify(after) ?? String(after),
      },
    ]);
  }
  return id;
}

function countLimitOf(value: unknown): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1) {
    throw badListQuery([
      {
        path: "countUpTo",
        message: "expected a positive whole number (or no countUpTo, to count every match)",
        received: JSON.stringify(value) ?? String(value),
      },
    ]);
  }
  return value;
}

/** A listing asked for something it cannot be: which field, and what it takes. */
function badListQuery(issues: ValidationIssue[]) {
  return new KamihiValidationError(
    "KAMIHI_USER_QUERY_INVALID",
    "Users could not be listed; fix these query fields:",
    issues,
  );
}

/** A page of a listing from its documents (one more than `limit` when a next page follows). */
function pageOf(
  docs: readonly Stored<UserDoc>[],
  limit: number,
  counted: Pick<UserPage, "total" | "moreThanTotal">,
): UserPage {
  const users = docs.slice(0, limit).map(toUser);
  const last = users.at(-1);
  return {
    users,
    ...counted,
    ...(docs.length > limit && last !== undefined ? { next: String(last.telegramId) } : {}),
  };
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
