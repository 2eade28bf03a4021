import { isKamihiError, KamihiError } from "@kamihi/core";
import { closedError } from "./closed.js";
import type { Table } from "./table.js";

/** Runs one operation `what` on the table `collection`, and gives its result. */
export type RunMemoryOperation = <R>(
  collection: string,
  what: string,
  fn: (table: Table) => R,
) => Promise<R>;

/** What {@link createMemoryRunner} needs of its store. */
export interface MemoryRunnerOptions {
  /** Opens the store (once), or fails. */
  connect: () => Promise<void>;
  /** Whether the store was closed. */
  isClosed: () => boolean;
  /** The table of a collection, made on first use. */
  table: (name: string) => Table;
  /** The store's clock: documents past their TTL by it are gone before the operation runs. */
  now: () => Date;
}

/**
 * The {@link RunMemoryOperation} of an embedded store: after start-up, never after `close()`,
 * with the table's expired documents purged first and the query engine's errors typed as
 * `KAMIHI_DB_INVALID_QUERY`.
 */
export function createMemoryRunner(options: MemoryRunnerOptions): RunMemoryOperation {
  return async (collection, what, fn) => {
    await options.connect();
    // close() may have run while this operation waited: it must not write after it.
    if (options.isClosed()) throw closedError();
    try {
      const table = options.table(collection);
      table.purge(options.now().getTime());
      return fn(table);
    } catch (error) {
      if (isKamihiError(error)) throw error;
      throw new KamihiError(
        "KAMIHI_DB_INVALID_QUERY",
        `The embedded store could not run ${what} on ${collection}: ${(error as Error).message}`,
        { cause: error, details: { collection, operation: what } },
      );
    }
  };
}
