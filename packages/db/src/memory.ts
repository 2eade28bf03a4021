import { resolve } from "node:path";
import { type IndexSpec, type Logger, type Store, silentLogger } from "@kamihi/core";
import { collectionCache, startOnce } from "./common.js";
import type { FileLockOptions } from "./file-lock.js";
import { closedError } from "./memory/closed.js";
import { createMemoryCollection, type MemoryCollectionContext } from "./memory/collection.js";
import { createStoreFiles, NO_FILES, type StoreFiles } from "./memory/files.js";
import { createMemoryRunner } from "./memory/operation.js";
import { Table } from "./memory/table.js";

/** Options of {@link createMemoryStore}. */
export interface MemoryStoreOptions {
  /**
   * Keep the data in this file and reload it on start: a snapshot, plus a log of the changes
   * since (`<file>.log`, see the package README). Changes are batched within `flushDelayMs`
   * and appended to the log; the log is folded into a new snapshot (written aside, then
   * renamed over the file) once it outgrows the data, and at `close()`. `connect()` checks
   * the files can be written (`KAMIHI_DB_NOT_WRITABLE`) and locks them for this process until
   * `close()` (`KAMIHI_DB_LOCKED` while another process holds them).
   */
  file?: string;
  /** Resolves a relative `file`. Default: `process.cwd()`. */
  cwd?: string;
  /** How long writes are batched before they are written. Default: 20 ms. */
  flushDelayMs?: number;
  /**
   * After a failed write (disk full, folder removed), the first retry waits this long; each
   * further failure doubles the wait, up to 30 s. Meanwhile the store serves from memory.
   * Default: 1000 ms.
   */
  retryDelayMs?: number;
  /**
   * The log is folded into the file once it is larger than twice the file and than this.
   * Default: 1 MiB.
   */
  compactMinBytes?: number;
  /**
   * The file's lock: how fast it goes stale, and who this process is to others; for tests, the
   * clock it judges staleness by and the timer of its refreshes.
   */
  lock?: Pick<FileLockOptions, "staleMs" | "refreshMs" | "owner" | "clock" | "repeat">;
  /** Prefix of every collection name. Default: `kamihi_`. */
  collectionPrefix?: string;
  /** Indexes to create when the store connects, by collection name. */
  indexes?: Readonly<Record<string, readonly IndexSpec[]>>;
  /** The clock, for tests of expiry. Default: `() => new Date()`. */
  now?: () => Date;
  logger?: Logger;
}

/**
 * The embedded store (`memory://`): the same {@link Store} in the process, with MongoDB query
 * and update semantics from mingo, unique and TTL indexes, no aliasing (documents are copied
 * in and out), and optional persistence to a file so a small bot survives a restart.
 *
 * An equality on `_id` or on the first field of an index is answered from that index, and
 * TTL deadlines are kept in order, so an operation costs the documents it touches rather than
 * the collection.
 *
 * The pieces live in `memory/`: the tables (`table.ts`), the collection over them
 * (`collection.ts`, `write.ts`), one operation's run by the store's clock (`operation.ts`),
 * and the files from lock to close (`files.ts`, `journal.ts`, `load.ts`).
 */
export function createMemoryStore(options: MemoryStoreOptions = {}): Store {
  const prefix = options.collectionPrefix ?? "kamihi_";
  const now = options.now ?? (() => new Date());
  const log = (options.logger ?? silentLogger).child({ component: "db" });
  const tables = new Map<string, Table>();
  const files: StoreFiles =
    options.file === undefined
      ? NO_FILES
      : createStoreFiles({
          file: resolve(options.cwd ?? process.cwd(), options.file),
          flushDelayMs: options.flushDelayMs ?? 20,
          retryDelayMs: options.retryDelayMs ?? 1000,
          compactMinBytes: options.compactMinBytes ?? 1 << 20,
          ...(options.lock === undefined ? {} : { lock: options.lock }),
          logger: log,
          tables: () => tables.values(),
        });
  let closed = false;

  function table(name: string): Table {
    let found = tables.get(name);
    if (found === undefined) {
      found = new Table(name, files.events);
      tables.set(name, found);
    }
    return found;
  }

  const start = startOnce(async () => {
    await files.lock();
    try {
      if (closed) throw closedError();
      // Afresh, should an earlier attempt have failed half-way.
      tables.clear();
      for (const [name, collection] of await files.load()) {
        table(name).load(collection.docs.values(), collection.indexes);
      }
      for (const [name, specs] of Object.entries(options.indexes ?? {})) {
        for (const spec of specs) table(prefix + name).ensureIndex(spec);
      }
      files.start();
    } catch (error) {
      await files.unlock();
      throw error;
    }
  });
  const connect = () => (closed ? Promise.reject(closedError()) : start());

  const context: MemoryCollectionContext = {
    run: createMemoryRunner({ connect, isClosed: () => closed, table, now }),
    now,
  };

  return {
    kind: "memory",
    connect,
    collection: collectionCache((name) => createMemoryCollection(name, prefix + name, context)),
    async ping() {
      if (closed) throw closedError();
    },
    /** Writes what changed (batched writes wait for no timer) and fsyncs it, then resolves. */
    sync: () => files.sync(),
    async close() {
      if (closed) return;
      closed = true;
      await files.close();
    },
    raw: () => ({ tables, flush: () => files.flush(), compact: () => files.compact() }),
  };
}
