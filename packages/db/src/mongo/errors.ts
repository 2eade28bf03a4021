import { type Document, isKamihiError, KamihiError } from "@kamihi/core";
import type { MongoServerError } from "mongodb";
import { duplicateKeyError } from "../common.js";
import { driver } from "./driver.js";

/**
 * A unique index said no. MongoDB answers code 11000; FerretDB 1.x (SQLite) does too on
 * inserts, but reports a unique clash on update as an internal "UNIQUE constraint failed".
 */
export function isDuplicateError(error: unknown): boolean {
  const e = error as { code?: number; message?: string; writeErrors?: Array<{ code?: number }> };
  if (e.code === 11000 || e.writeErrors?.some((w) => w.code === 11000) === true) return true;
  return /UNIQUE constraint failed|E11000 duplicate key/.test(e.message ?? "");
}

/** The server refused a TTL index because it does not implement them. */
export function isTtlUnsupported(error: unknown): boolean {
  const e = error as { code?: number; message?: string };
  return e.code === 238 || /expireAfterSeconds.*not (implemented|supported)/i.test(e.message ?? "");
}

/** The server says the collection does not exist (listing its indexes, say). */
export function isMissingCollection(error: unknown): boolean {
  return (
    error instanceof driver().MongoServerError &&
    (error.code === 26 || /not ?found|does not exist/i.test(error.message))
  );
}

/** Server errors that mean the query itself is wrong, not the server. */
function isQueryShapeError(error: MongoServerError): boolean {
  // BadValue, FailedToParse, TypeMismatch, InvalidOptions, ConflictingUpdateOperators, …
  return [2, 9, 14, 40, 52, 72].includes(Number(error.code));
}

/**
 * What a caller sees when the driver fails `what` on `collection`: `KAMIHI_DB_DUPLICATE_KEY`
 * for a unique clash (naming the index when the server does), `KAMIHI_DB_INVALID_QUERY` when
 * the server rejects the query's shape, else `KAMIHI_DB_OPERATION_FAILED`. Kamihi's own errors
 * pass through. `scrub` removes the password from the driver's message.
 */
export function translateError(
  collection: string,
  what: string,
  error: unknown,
  scrub: (text: string) => string,
): unknown {
  if (isKamihiError(error)) return error;
  const server = error as Partial<MongoServerError> & {
    writeErrors?: Array<{ code?: number; errmsg?: string }>;
  };
  if (isDuplicateError(error)) {
    const message = server.errmsg ?? server.message ?? server.writeErrors?.[0]?.errmsg ?? "";
    const index = /index: (\S+)/.exec(message)?.[1];
    return duplicateKeyError(collection, server.keyValue as Document | undefined, index, error);
  }
  const reason = scrub(error instanceof Error ? error.message : String(error));
  if (error instanceof driver().MongoServerError && isQueryShapeError(error)) {
    return new KamihiError(
      "KAMIHI_DB_INVALID_QUERY",
      `MongoDB rejected ${what} on ${collection}: ${reason}`,
      { cause: error, details: { collection, operation: what } },
    );
  }
  return new KamihiError(
    "KAMIHI_DB_OPERATION_FAILED",
    `MongoDB could not run ${what} on ${collection}: ${reason}. If the server is down, start it again; the connection recovers by itself.`,
    { cause: error, details: { collection, operation: what } },
  );
}
