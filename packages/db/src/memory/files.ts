import type { Logger } from "@kamihi/core";
import { checkWritableFile } from "../file-access.js";
import { acquireFileLock, type FileLock, type FileLockOptions } from "../file-lock.js";
import { createJournal, logPathOf } from "./journal.js";
import type { LoadedCollection } from "./load.js";
import type { Table, TableEvents } from "./table.js";

/** Options of {@link createStoreFiles}. */
export interface StoreFilesOptions {
  /** The data file (absolute); its log is beside it. */
  file: string;
  flushDelayMs: number;
  retryDelayMs: number;
  compactMinBytes: number;
  /** The file's lock: how fast it goes stale, who this process is, its clock and timer. */
  lock?: Pick<FileLockOptions, "staleMs" | "refreshMs" | "owner" | "clock" | "repeat">;
  logger: Logger;
  /** Every table of the store, for a snapshot. */
  tables: () => Iterable<Table>;
}

/**
 * The files an embedded store is kept in, from opening to closing: checked, locked for this
 * process, read, then written as the tables change (see `journal.ts`).
 */
export interface StoreFiles {
  /** Hand these to every table: each change is queued for the next write. */
  readonly events: TableEvents;
  /**
   * Checks that the data file and its log can be written where they are
   * (`KAMIHI_DB_NOT_WRITABLE`), then locks them for this process (`KAMIHI_DB_LOCKED`).
   */
  lock(): Promise<void>;
  /** Reads the files, once locked. */
  load(): Promise<Map<string, LoadedCollection>>;
  /** Starts writing, once the store has opened: never before, nor after a failed start. */
  start(): void;
  /** Gives the lock up, if held (after a failed start). */
  unlock(): Promise<void>;
  /** Writes the changes made so far now. */
  flush(): Promise<void>;
  /** Writes the changes made so far and makes them durable (fsync). */
  sync(): Promise<void>;
  /** Rewrites the data file from memory and starts an empty log. */
  compact(): Promise<void>;
  /** Writes everything into the data file, then gives the lock up (even if that write failed). */
  close(): Promise<void>;
}

/** The {@link StoreFiles} of a store kept in memory only: nothing to check, lock, read or write. */
export const NO_FILES: StoreFiles = {
  events: { put() {}, delete() {}, indexes() {} },
  lock: async () => {},
  load: async () => new Map(),
  start() {},
  unlock: async () => {},
  flush: async () => {},
  sync: async () => {},
  compact: async () => {},
  close: async () => {},
};

/** The {@link StoreFiles} of the data file `options.file`. */
export function createStoreFiles(options: StoreFilesOptions): StoreFiles {
  const { file, logger } = options;
  let lock: FileLock | undefined;
  const journal = createJournal({
    file,
    flushDelayMs: options.flushDelayMs,
    retryDelayMs: options.retryDelayMs,
    compactMinBytes: options.compactMinBytes,
    logger,
    tables: options.tables,
    lockLost: () => lock?.lost === true,
  });

  async function unlock() {
    const held = lock;
    lock = undefined;
    await held?.release();
  }

  return {
    events: journal.events,
    async lock() {
      // Fail now, naming the path, rather than on the first write (or never, silently).
      await checkWritableFile(file);
      await checkWritableFile(logPathOf(file));
      lock = await acquireFileLock(file, { ...options.lock, logger });
    },
    load: () => journal.load(),
    start: () => journal.start(),
    unlock,
    flush: () => journal.flush(),
    sync: () => journal.sync(),
    compact: () => journal.compact(),
    async close() {
      try {
        await journal.close();
      } finally {
        // Even when the last write failed: the data is lost either way, the file is free.
        await unlock();
      }
    },
  };
}
