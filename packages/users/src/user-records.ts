import {
  type Collection,
  type Insertable,
  isKamihiError,
  KamihiError,
  literal,
  type User,
} from "@kamihi/core";
import { toUser, type UserDoc } from "./documents.js";

/** The stored user with this id, or `null`. */
export async function readUser(
  users: Collection<UserDoc>,
  telegramId: number,
): Promise<User | null> {
  const doc = await users.findOne({ telegramId: literal(telegramId) });
  return doc === null ? null : toUser(doc);
}

/** Inserts a user; one that exists already is `KAMIHI_USER_EXISTS` (the unique index says so). */
export async function insertUser(
  users: Collection<UserDoc>,
  doc: Insertable<UserDoc>,
): Promise<User> {
  try {
    return toUser(await users.insertOne(doc));
  } catch (error) {
    if (isKamihiError(error, "KAMIHI_DB_DUPLICATE_KEY")) {
      throw new KamihiError(
        "KAMIHI_USER_EXISTS",
        `The user ${doc.telegramId} already exists; change them instead of adding them again.`,
        { details: { telegramId: doc.telegramId } },
      );
    }
    throw error;
  }
}

/** `KAMIHI_USER_NOT_FOUND` for a call that names one user. */
export function userNotFound(telegramId: number): KamihiError<"KAMIHI_USER_NOT_FOUND"> {
  return new KamihiError(
    "KAMIHI_USER_NOT_FOUND",
    `No user with Telegram id ${telegramId}; \`kamihi user list\` shows the users there are.`,
    { details: { telegramId } },
  );
}
