import { constants, type Stats } from "node:fs";
import { type FileHandle, open, rename, stat, unlink } from "node:fs/promises";
import { dirname } from "node:path";
import { type Document, type IndexSpec, KamihiError, type Logger } from "@kamihi/core";
import { describeFsError, makeFolder } from "../file-access.js";
import { commitLine, deleteLine, headerLine, indexesLine, putLine } from "./format.js";
import { fileIdOf, type LoadedCollection, loadFiles } from "./load.js";
import type { Entry, Table, TableEvents } from "./table.js";

/** The longest wait between two attempts to write a file that keeps failing. */
const MAX_RETRY_DELAY_MS = 30_000;
/** A snapshot is written this many bytes at a time, letting other work run in between. */
const CHUNK_BYTES = 1 << 20;

/** The log of the data file `file`. */
export function logPathOf(file: string): string {
  return `${file}.log`;
}

/** Options of {@link createJournal}. */
export interface JournalOptions {
  /** The data file (absolute). */
  file: string;
  flushDelayMs: number;
  retryDelayMs: number;
  /** The log is compacted once it is larger than this and than twice the data file. */
  compactMinBytes: number;
  logger: Logger;
  /** Every table, for a snapshot. */
  tables: () => Iterable<Table>;
  /** Whether another process has taken the file's lock over (then nothing is written). */
  lockLost: () => boolean;
}

/** Keeps a file-backed store's tables on disk. */
export interface Journal {
  /** Hand these to every table: each change is queued for the next batch. */
  readonly events: TableEvents;
  /** Reads the files (see `loadFiles`). */
  load(): Promise<Map<string, LoadedCollection>>;
  /** Starts writing, once the store has opened: never before, nor after a failed start. */
  start(): void;
  /** Writes the changes made so far now (resolving once they are written, not fsynced). */
  flush(): Promise<void>;
  /** Writes the changes made so far and makes them durable (fsync). */
  sync(): Promise<void>;
  /** Rewrites the data file from memory and starts an empty log. */
  compact(): Promise<void>;
  /** Writes everything into the data file, removes the log, and stops. */
  close(): Promise<void>;
}

interface PendingChange {
  table: string;
  id: unknown;
  /** The entry to write, or `undefined` if the document was deleted. */
  entry: Entry | undefined;
  /** Deleted, then inserted again: the delete goes first, so it moves to the end. */
  moved: boolean;
}

interface Batch {
  /** Batches are numbered as they are taken: a snapshot holds every one taken before it. */
  seq: number;
  text: string;
  bytes: number;
  changes: number;
}

/**
 * Incremental persistence of the embedded store. Changes are batched for `flushDelayMs`; a
 * batch is appended to the log as one line per changed document (the whole document, or its
 * deletion) and a commit line; the log is folded into a new data file (a snapshot written
 * aside, fsynced, then renamed over the old one) once it outgrows the data, after a failed
 * write, and at close. Writes never overlap. A failed write is logged with the path and the
 * reason, the store keeps serving from memory, and the write is retried, less and less often.
 */
export function createJournal(options: JournalOptions): Journal {
  const { file, logger: log } = options;
  const logPath = logPathOf(file);
  const folder = dirname(file);

  const pending = new Map<string, PendingChange>();
  const pendingIndexes = new Map<string, Table>();
  let batches = 0;
  /** Batches up to this one are in the data file: appending them again would go back in time. */
  let covered = 0;

  let generation = 0;
  /** The identity of the data file and log this store wrote (or read), if any. */
  let snapshotId: string | undefined;
  let logId: string | undefined;
  let snapshotBytes = 0;
  /** The log's size, and the size of the changes in it (after its header). */
  let logSize = 0;
  let logBytes = 0;
  /** The next write must be a snapshot: the data file is missing or old, or a write failed. */
  let mustCompact = true;
  /** Appended since the last fsync; a log created since the folder's last fsync. */
  let unsynced = false;
  let newLog = false;

  /** Whether the store opened (files read, lock held): only then may it write them. */
  let opened = false;
  let closed = false;
  let dirty = false;
  let timer: NodeJS.Timeout | undefined;
  let writing: Promise<void> = Promise.resolve();
  /** Failed writes in a row, and the reason of the last one (logged when it changes). */
  let failures = 0;
  let lastFailure: string | undefined;
  /** The file the current write is writing, for its error message. */
  let target = file;

  const keyOf = (table: Table, entry: Entry) => `${table.name}\u0000${entry.id}`;

  const events: TableEvents = {
    put(table, entry) {
      const key = keyOf(table, entry);
      const change = pending.get(key);
      if (change === undefined) {
        pending.set(key, { table: table.name, id: entry.doc._id, entry, moved: false });
      } else {
        if (change.entry !== entry) change.moved = true;
        change.entry = entry;
      }
      schedule();
    },
    delete(table, entry) {
      const key = keyOf(table, entry);
      const change = pending.get(key);
      if (change === undefined) {
        pending.set(key, { table: table.name, id: entry.doc._id, entry: undefined, moved: false });
      } else {
        change.entry = undefined;
      }
      schedule();
    },
    indexes(table) {
      pendingIndexes.set(table.name, table);
      schedule();
    },
  };

  async function load() {
    pending.clear();
    pendingIndexes.clear();
    const loaded = await loadFiles(file, logPath, log);
    generation = loaded.generation;
    snapshotBytes = loaded.snapshotBytes;
    snapshotId = loaded.version === undefined ? undefined : await idOf(file);
    // A version 1 file is rewritten in this format by the first snapshot.
    mustCompact = loaded.version !== 2;
    if (loaded.log !== undefined) {
      logId = await idOf(logPath);
      logSize = loaded.log.size;
      logBytes = loaded.log.changes;
    }
    return loaded.collections;
  }

  function start() {
    opened = true;
    if (pending.size > 0 || pendingIndexes.size > 0) schedule();
  }

  function schedule() {
    if (closed || !opened) return;
    dirty = true;
    // The file is another process's now: close() reports the changes it could not keep.
    if (options.lockLost()) return;
    // While writes fail, new changes wait for the next retry instead of hammering the disk.
    timer ??= setTimeout(flushLater, failures === 0 ? options.flushDelayMs : retryDelay());
  }

  function flushLater() {
    timer = undefined;
    flush().catch(() => {
      // Logged and retried by the write itself; a timer must never throw.
    });
  }

  function retryDelay(): number {
    return Math.min(MAX_RETRY_DELAY_MS, options.retryDelayMs * 2 ** Math.max(0, failures - 1));
  }

  function lockLostError() {
    return new KamihiError(
      "KAMIHI_DB_LOCKED",
      `The embedded store's file ${file} was taken over by another process; the changes made by this process since then are not in the file.`,
      { details: { file } },
    );
  }

  /** The changes since the last batch, as log lines, taken now: one consistent moment. */
  function takeBatch(): Batch {
    let text = "";
    let changes = 0;
    for (const table of pendingIndexes.values()) {
      text += indexesLine(table.name, table.specs());
      changes++;
    }
    for (const change of pending.values()) {
      if (change.entry === undefined || change.moved) {
        text += deleteLine(change.table, change.id);
        changes++;
      }
      if (change.entry !== undefined) {
        text += putLine(change.table, change.entry.doc);
        changes++;
      }
    }
    pending.clear();
    pendingIndexes.clear();
    if (changes > 0) text += commitLine(changes);
    return { seq: ++batches, text, bytes: Buffer.byteLength(text), changes };
  }

  function flush(): Promise<void> {
    if (!dirty) return writing;
    // Another process owns the file now: writing would erase its changes.
    if (options.lockLost()) return Promise.reject(lockLostError());
    dirty = false;
    const batch = takeBatch();
    return enqueue(() => writeBatch(batch));
  }

  async function writeBatch(batch: Batch) {
    if (batch.seq <= covered) return;
    const limit = Math.max(options.compactMinBytes, 2 * snapshotBytes);
    if (mustCompact || logBytes + batch.bytes > limit) return snapshot(false);
    if (batch.changes === 0) return;
    if (!(await append(batch.text))) return snapshot(false);
    logBytes += batch.bytes;
    logSize += batch.bytes;
  }

  /**
   * Appends to the log, if the data file and the log are still the ones this store wrote
   * (else `false`: they were removed or replaced, and only a snapshot puts things right).
   */
  async function append(text: string): Promise<boolean> {
    target = file;
    const current = await statOf(file);
    if (current === undefined || fileIdOf(current) !== snapshotId) return false;
    if (current.size !== snapshotBytes) return false;
    target = logPath;
    let handle: FileHandle;
    try {
      handle = await open(logPath, constants.O_WRONLY | constants.O_APPEND);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      // No log yet (a clean close removes it): start one for this data file.
      handle = await open(logPath, "wx");
      try {
        const header = headerLine("log", generation);
        await handle.writeFile(header);
        logId = fileIdOf(await handle.stat());
        logSize = Buffer.byteLength(header);
        logBytes = 0;
        newLog = true;
      } catch (failure) {
        await handle.close();
        throw failure;
      }
    }
    try {
      const log = await handle.stat();
      if (fileIdOf(log) !== logId || log.size !== logSize) return false;
      await handle.writeFile(text);
      unsynced = true;
      return true;
    } finally {
      await handle.close();
    }
  }

  /**
   * Writes every table into a new data file (aside, fsynced, renamed into place), then a new
   * empty log, or (`final`) none. The tables are captured at once and written a chunk at a
   * time: stored documents are never changed in place, so the capture stays one moment.
   */
  async function snapshot(final: boolean) {
    const captured: { name: string; specs: IndexSpec[]; docs: Document[] }[] = [];
    for (const table of options.tables()) {
      if (table.size === 0 && table.specs().length === 0) continue;
      captured.push({ name: table.name, specs: table.specs(), docs: table.documents() });
    }
    covered = batches;
    pending.clear();
    pendingIndexes.clear();
    const next = generation + 1;
    target = file;
    await makeFolder(folder);
    const temporary = `${file}.${process.pid}.tmp`;
    let bytes = 0;
    let id: string;
    try {
      const handle = await open(temporary, "w");
      try {
        let chunk = headerLine("snapshot", next);
        let changes = 0;
        const write = async () => {
          bytes += Buffer.byteLength(chunk);
          await handle.writeFile(chunk);
          chunk = "";
        };
        for (const { name, specs, docs } of captured) {
          if (specs.length > 0) {
            chunk += indexesLine(name, specs);
            changes++;
          }
          for (const doc of docs) {
            chunk += putLine(name, doc);
            changes++;
            if (chunk.length >= CHUNK_BYTES) await write();
          }
        }
        chunk += commitLine(changes);
        await write();
        await handle.sync();
        id = fileIdOf(await handle.stat());
      } finally {
        await handle.close();
      }
      await rename(temporary, file);
    } catch (error) {
      await unlink(temporary).catch(() => {});
      throw error;
    }
    // From here the old log is stale (its generation is the old one) whatever happens next.
    generation = next;
    snapshotId = id;
    snapshotBytes = bytes;
    logId = undefined;
    logSize = 0;
    logBytes = 0;
    await syncFolder(folder);
    target = logPath;
    if (final) {
      await unlink(logPath).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== "ENOENT") throw error;
      });
    } else {
      const handle = await open(logPath, "w");
      try {
        const header = headerLine("log", next);
        await handle.writeFile(header);
        await handle.sync();
        logId = fileIdOf(await handle.stat());
        logSize = Buffer.byteLength(header);
      } finally {
        await handle.close();
      }
      await syncFolder(folder);
    }
    mustCompact = false;
    unsynced = false;
    newLog = false;
  }

  async function syncLog() {
    if (!unsynced) return;
    target = logPath;
    const handle = await open(logPath, "r");
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (newLog) await syncFolder(folder);
    unsynced = false;
    newLog = false;
  }

  /** Runs one write after the others; on failure logs it, plans a retry and rejects. */
  function enqueue(job: () => Promise<void>): Promise<void> {
    const current = writing.then(async () => {
      try {
        await job();
      } catch (error) {
        throw failed(error);
      }
      if (failures > 0) {
        log.info(
          { file, failures },
          `the embedded store wrote ${file} again, after ${failures} failed attempts`,
        );
      }
      failures = 0;
      lastFailure = undefined;
    });
    // Keep the chain usable after a failure; callers of this write still see its error.
    writing = current.catch(() => {});
    return current;
  }

  function failed(error: unknown): KamihiError {
    // Whatever reached the log may end in a torn batch: the next write starts afresh.
    mustCompact = true;
    dirty = true;
    failures++;
    const path = target;
    const reason = describeFsError(error);
    const retry = closed ? undefined : retryDelay();
    const text = `the embedded store could not write ${path} (${reason}); the data stays in memory${retry === undefined ? "" : ` and the write is retried in ${retry / 1000}s`}. Free disk space or fix the folder's permissions.`;
    // At once on the first failure (or a new reason); then now and then, not every retry.
    if (failures === 1 || reason !== lastFailure || failures % 10 === 0) {
      log.error({ err: error, file: path, failures }, text);
    } else {
      log.debug({ err: error, file: path, failures }, text);
    }
    lastFailure = reason;
    if (retry !== undefined) {
      if (timer !== undefined) clearTimeout(timer);
      timer = setTimeout(flushLater, retry);
    }
    return new KamihiError(
      "KAMIHI_DB_OPERATION_FAILED",
      `The embedded store could not write ${path} (${reason}). Check the disk and the folder's permissions.`,
      { cause: error, details: { file: path } },
    );
  }

  function stopTimer() {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
  }

  return {
    events,
    load,
    start,
    flush,
    async sync() {
      stopTimer();
      await flush();
      if (unsynced) await enqueue(syncLog);
    },
    async compact() {
      stopTimer();
      if (options.lockLost()) throw lockLostError();
      dirty = false;
      await enqueue(() => snapshot(false));
    },
    async close() {
      if (closed) return;
      closed = true;
      stopTimer();
      await writing;
      if (!opened) return;
      if (options.lockLost()) {
        if (dirty) throw lockLostError();
        return;
      }
      if (!dirty && !mustCompact && logBytes === 0 && snapshotId !== undefined) {
        // Nothing since the last snapshot: the data file is complete as it is.
        if (logId !== undefined) await unlink(logPath).catch(() => {});
        return;
      }
      dirty = false;
      await enqueue(() => snapshot(true));
    },
  };
}

/** What is at `path`, or `undefined` if nothing is. */
async function statOf(path: string): Promise<Stats | undefined> {
  try {
    return await stat(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    throw error;
  }
}

/** The identity of the file at `path`, or `undefined` if there is none. */
async function idOf(path: string): Promise<string | undefined> {
  const stats = await statOf(path);
  return stats === undefined ? undefined : fileIdOf(stats);
}

/**
 * Makes a rename or a new file in `folder` durable. Where folders cannot be opened or
 * fsynced (Windows), the rename is as durable as the system makes it.
 */
async function syncFolder(folder: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(folder, "r");
    await handle.sync();
  } catch {
    // Not supported here.
  } finally {
    await handle?.close();
  }
}
