import { type Document, isKamihiError } from "@kamihi/core";
import type { Db } from "mongodb";
import { duplicateKeyError } from "../common.js";
import { findClash } from "./clash.js";
import { translateError } from "./errors.js";
import { type StartTimer, wallTimer, withTimeLimit } from "./time-limit.js";

/**
 * Runs one operation `what` on `collection`: connected, bounded in time, with errors
 * translated. `attempted` are the documents a write tried to store, to name the clashing key
 * when the server does not.
 */
export type RunOperation = <T>(
  collection: string,
  what: string,
  fn: () => Promise<T>,
  attempted?: () => readonly Document[],
) => Promise<T>;

/** Options of {@link createOperationRunner}. */
export interface OperationRunnerOptions {
  db: Db;
  /** Connects the store (once), or fails. */
  connect: () => Promise<void>;
  /** How long one operation may take before it fails with `KAMIHI_DB_OPERATION_FAILED`. */
  operationTimeoutMs: number;
  /** Removes the connection string's password from a driver message. */
  scrub: (text: string) => string;
  /** Starts the time limits. Default: `setTimeout`. */
  timer?: StartTimer;
}

/** The {@link RunOperation} every collection of a MongoDB store goes through. */
export function createOperationRunner(options: OperationRunnerOptions): RunOperation {
  const { db, scrub } = options;
  const timer = options.timer ?? wallTimer;
  return async (collection, what, fn, attempted) => {
    await options.connect();
    try {
      return await withTimeLimit(fn(), options.operationTimeoutMs, what, timer);
    } catch (error) {
      const translated = translateError(collection, what, error, scrub);
      if (
        isKamihiError(translated, "KAMIHI_DB_DUPLICATE_KEY") &&
        translated.details.key === undefined &&
        attempted !== undefined
      ) {
        const key = await findClash(db, collection, attempted()).catch(() => undefined);
        if (key !== undefined) throw duplicateKeyError(collection, key.key, key.index, error);
      }
      throw translated;
    }
  };
}
