import type { Stats } from "node:fs";
import { readFile, truncate, unlink } from "node:fs/promises";
import { type Document, type IndexSpec, KamihiError, type Logger } from "@kamihi/core";
import { decodeLine, decodeValue, FORMAT_VERSION, type Line } from "./format.js";
import { keyOf } from "./keys.js";

/** One collection as read from the files: documents by `_id` key, in natural order. */
export interface LoadedCollection {
  docs: Map<string, Document>;
  indexes: IndexSpec[];
}

/** What the files held, and where writing goes on from. */
export interface Loaded {
  collections: Map<string, LoadedCollection>;
  /** The data file's format: `undefined` when there is none yet. */
  version: 1 | 2 | undefined;
  /** The data file's generation (0 without one): its log must carry the same. */
  generation: number;
  /** The data file's size. */
  snapshotBytes: number;
  /** The log kept, if any: its size, and the size of its changes (after its header). */
  log: { size: number; changes: number } | undefined;
}

/** One line of a file, with where it ends (past its newline, if it has one). */
interface RawLine {
  number: number;
  text: string;
  end: number;
  terminated: boolean;
}

function* linesOf(buffer: Buffer): Generator<RawLine> {
  let start = 0;
  let number = 0;
  while (start < buffer.length) {
    const newline = buffer.indexOf(10, start);
    const terminated = newline !== -1;
    const stop = terminated ? newline : buffer.length;
    number++;
    yield { number, text: buffer.toString("utf8", start, stop), end: stop + 1, terminated };
    start = stop + 1;
  }
}

async function readIfThere(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    throw new KamihiError(
      "KAMIHI_DB_UNREADABLE",
      `Could not read the embedded store's file ${path}: ${(error as Error).message}. Check its permissions, or remove ?file= from db.url to keep data in memory only.`,
      { cause: error, details: { file: path } },
    );
  }
}

function notADataFile(file: string, reason: string, cause?: unknown): KamihiError {
  return new KamihiError(
    "KAMIHI_DB_UNREADABLE",
    `The embedded store's file ${file} is not a Kamihi data file (${reason}). Move it away to start with an empty store.`,
    { cause, details: { file } },
  );
}

function damaged(path: string, line: number, reason: string, todo: string): KamihiError {
  return new KamihiError(
    "KAMIHI_DB_UNREADABLE",
    `The embedded store's file ${path} is damaged at line ${line} (${reason}). ${todo}`,
    { details: { file: path, line } },
  );
}

/** Applies one change line to the collections being loaded. */
function apply(collections: Map<string, LoadedCollection>, line: Line): void {
  if (line.kind === "header" || line.kind === "commit") return;
  let collection = collections.get(line.collection);
  if (collection === undefined) {
    collection = { docs: new Map(), indexes: [] };
    collections.set(line.collection, collection);
  }
  if (line.kind === "indexes") collection.indexes = line.indexes;
  // Replacing an existing key keeps its place: the natural order survives the file.
  else if (line.kind === "put") collection.docs.set(keyOf(line.doc._id), line.doc);
  else collection.docs.delete(keyOf(line.id));
}

/**
 * Reads the data file `file` and its log `logPath` (see `format.ts`): the snapshot, then the
 * log's complete batches if the log belongs to this snapshot (same generation). A log that
 * ends in an incomplete batch (a crash or a full disk mid-write) loses that batch only: it is
 * ignored with a warning, and cut off so that new batches follow the last complete one. A
 * file in the version 1 format (one EJSON document) is read as it is; the caller rewrites it.
 */
export async function loadFiles(file: string, logPath: string, log: Logger): Promise<Loaded> {
  const collections = new Map<string, LoadedCollection>();
  const snapshot = await readIfThere(file);
  const logBuffer = await readIfThere(logPath);
  if (snapshot === undefined) {
    if (logBuffer !== undefined) {
      for (const line of linesOf(logBuffer)) {
        let kind: Line["kind"] | undefined;
        try {
          kind = decodeLine(line.text).kind;
        } catch {
          continue;
        }
        if (kind === "put" || kind === "delete" || kind === "indexes") {
          throw new KamihiError(
            "KAMIHI_DB_UNREADABLE",
            `The embedded store's file ${file} is missing, but its log ${logPath} is there: the log alone does not hold the data. Put ${file} back, or move the log away to start with an empty store.`,
            { details: { file, log: logPath } },
          );
        }
      }
      await unlink(logPath).catch(() => {});
    }
    return { collections, version: undefined, generation: 0, snapshotBytes: 0, log: undefined };
  }

  const generation = readSnapshot(file, snapshot, collections);
  if (generation === undefined) {
    if (logBuffer !== undefined) {
      log.warn(
        { file, log: logPath },
        `ignored the embedded store's log ${logPath}: ${file} was written since by an older Kamihi version`,
      );
      await unlink(logPath).catch(() => {});
    }
    return {
      collections,
      version: 1,
      generation: 0,
      snapshotBytes: snapshot.length,
      log: undefined,
    };
  }
  const kept =
    logBuffer === undefined
      ? undefined
      : await replayLog(logPath, logBuffer, generation, collections, log);
  return { collections, version: 2, generation, snapshotBytes: snapshot.length, log: kept };
}

/** Reads a snapshot into `collections`; its generation, or `undefined` for version 1. */
function readSnapshot(
  file: string,
  buffer: Buffer,
  collections: Map<string, LoadedCollection>,
): number | undefined {
  const lines = linesOf(buffer);
  const first = lines.next();
  let header: Line | undefined;
  if (!first.done) {
    try {
      header = decodeLine(first.value.text);
    } catch {
      // Not a line of version 2: perhaps version 1, one JSON document.
    }
  }
  if (header?.kind !== "header") {
    readVersion1(file, buffer, collections);
    return undefined;
  }
  if (header.version > FORMAT_VERSION) {
    throw new KamihiError(
      "KAMIHI_DB_UNREADABLE",
      `The embedded store's file ${file} was written by a newer Kamihi version (format ${header.version}); upgrade Kamihi to read it.`,
      { details: { file } },
    );
  }
  if (header.part !== "snapshot") throw notADataFile(file, "it is an embedded store's log");
  let changes = 0;
  let committed = false;
  const todo = `Restore it from a backup, or move it away to start with an empty store.`;
  for (const raw of lines) {
    if (committed) {
      if (raw.text.trim() === "") continue;
      throw damaged(file, raw.number, "lines after its end", todo);
    }
    let line: Line;
    try {
      line = decodeLine(raw.text);
    } catch (error) {
      throw damaged(file, raw.number, (error as Error).message, todo);
    }
    if (line.kind === "header") throw damaged(file, raw.number, "a second header", todo);
    if (line.kind === "commit") {
      if (line.count !== changes) {
        throw damaged(file, raw.number, `${changes} changes, but ${line.count} announced`, todo);
      }
      committed = true;
      continue;
    }
    apply(collections, line);
    changes++;
  }
  if (!committed) throw damaged(file, 0, "it is incomplete: its last line is missing", todo);
  return header.generation;
}

function readVersion1(file: string, buffer: Buffer, collections: Map<string, LoadedCollection>) {
  let snapshot: { version?: unknown; collections?: unknown };
  try {
    // Written canonical (`{"$numberInt":"1"}`), read relaxed (numbers come back as numbers).
    snapshot = decodeValue(JSON.parse(buffer.toString("utf8"))) as typeof snapshot;
  } catch (error) {
    throw notADataFile(file, (error as Error).message, error);
  }
  if (
    snapshot === null ||
    snapshot.version !== 1 ||
    snapshot.collections === null ||
    typeof snapshot.collections !== "object"
  ) {
    throw notADataFile(file, `unknown format version ${String(snapshot?.version)}`);
  }
  for (const [name, table] of Object.entries(snapshot.collections as Record<string, unknown>)) {
    const { documents, indexes } = (table ?? {}) as { documents?: unknown; indexes?: unknown };
    const docs = new Map<string, Document>();
    for (const doc of Array.isArray(documents) ? (documents as Document[]) : []) {
      docs.set(keyOf(doc._id), doc);
    }
    collections.set(name, {
      docs,
      indexes: (Array.isArray(indexes) ? indexes : []) as IndexSpec[],
    });
  }
}

/**
 * Replays the complete batches of a log onto `collections`; the size of the log kept and of
 * its changes, or `undefined` when the log is not this snapshot's (and was removed).
 */
async function replayLog(
  logPath: string,
  buffer: Buffer,
  generation: number,
  collections: Map<string, LoadedCollection>,
  log: Logger,
): Promise<{ size: number; changes: number } | undefined> {
  const lines = [...linesOf(buffer)];
  const fail = (raw: RawLine, reason: string) =>
    damaged(
      logPath,
      raw.number,
      reason,
      `Restore the data file and its log from a backup, or cut the log before line ${raw.number} to keep what comes before it.`,
    );
  let header: Line | undefined;
  try {
    if (lines[0]?.terminated) header = decodeLine(lines[0].text);
  } catch {
    // A log whose header is damaged holds nothing that was acknowledged.
  }
  if (header?.kind !== "header" || header.part !== "log" || header.generation !== generation) {
    if (header?.kind === "header" && header.generation > generation) {
      log.warn(
        { log: logPath },
        `ignored the embedded store's log ${logPath}: it belongs to a newer data file than the one beside it`,
      );
    }
    // Else a log the data file already holds (a stop between writing it and the new log).
    await unlink(logPath).catch(() => {});
    return undefined;
  }
  const headerEnd = (lines[0] as RawLine).end;
  let kept = headerEnd;
  let batch: Line[] = [];
  /** The first line after the last complete batch. */
  let pendingFrom: number | undefined;
  for (const raw of lines.slice(1)) {
    pendingFrom ??= raw.number;
    // A last line without its newline was cut short, whatever it holds.
    if (!raw.terminated) break;
    let line: Line;
    try {
      line = decodeLine(raw.text);
    } catch (error) {
      if (lines.slice(raw.number).every((later) => later.text.trim() === "")) break;
      throw fail(raw, (error as Error).message);
    }
    if (line.kind === "header") throw fail(raw, "a second header");
    if (line.kind !== "commit") {
      batch.push(line);
      continue;
    }
    if (line.count !== batch.length) {
      throw fail(raw, `${batch.length} changes, but ${line.count} announced`);
    }
    for (const change of batch) apply(collections, change);
    batch = [];
    kept = raw.end;
    pendingFrom = undefined;
  }
  if (kept < buffer.length) {
    const dropped = buffer.length - kept;
    if (buffer.toString("utf8", kept).trim() !== "") {
      log.warn(
        { log: logPath, bytes: dropped, line: pendingFrom },
        `the embedded store's log ${logPath} ends in an incomplete write (${dropped} bytes from line ${pendingFrom}, left by a crash or a full disk); it was ignored, and everything before it kept`,
      );
    }
    // New batches must follow the last complete one, not the torn one.
    await truncate(logPath, kept);
  }
  return { size: kept, changes: kept - headerEnd };
}

/**
 * A file's identity, to notice when the file at a path was replaced: a freed inode number is
 * soon reused (even by a folder made in its place), its creation time is not.
 */
export function fileIdOf(stats: Stats): string {
  return `${stats.isFile() ? "file" : "other"}:${stats.dev}:${stats.ino}:${stats.birthtimeMs}`;
}
