import { readFile, rename, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import {
  type Collection,
  type Document,
  type FindOneAndUpdateOptions,
  type FindOptions,
  type IndexSpec,
  type Insertable,
  isKamihiError,
  KamihiError,
  type Logger,
  type Store,
  type Stored,
  silentLogger,
  type UpdateOptions,
  type UpdateResult,
} from "@kamihi/core";
import { EJSON } from "bson";
import { find as mingoFind, update as mingoUpdate, Query } from "mingo";
import {
  andFilter,
  assertStorable,
  checkFilter,
  checkUpdate,
  collectionCache,
  duplicateKeyError,
  indexName,
  notExpired,
  startOnce,
  type TtlRule,
  ttlRuleOf,
  withInsertFields,
  withUpdateFields,
} from "./common.js";
import { checkWritableFile, describeFsError, makeFolder } from "./file-access.js";
import { acquireFileLock, type FileLock, type FileLockOptions } from "./file-lock.js";

/** Options of {@link createMemoryStore}. */
export interface MemoryStoreOptions {
  /**
   * Keep the data in this JSON file (EJSON, so dates survive) and reload it on start. Writes
   * are atomic (a temporary file renamed over the old one), batched within `flushDelayMs`.
   * `connect()` checks the file can be written (`KAMIHI_DB_NOT_WRITABLE`) and locks it for
   * this process until `close()` (`KAMIHI_DB_LOCKED` while another process holds it).
   */
  file?: string;
  /** Resolves a relative `file`. Default: `process.cwd()`. */
  cwd?: string;
  /** How long writes are batched before the file is written. Default: 20 ms. */
  flushDelayMs?: number;
  /**
   * After a failed write (disk full, folder removed), the first retry waits this long; each
   * further failure doubles the wait, up to 30 s. Meanwhile the store serves from memory.
   * Default: 1000 ms.
   */
  retryDelayMs?: number;
  /** The file's lock: how fast it goes stale, and who this process is to others. */
  lock?: Pick<FileLockOptions, "staleMs" | "refreshMs" | "owner">;
  /** Prefix of every collection name. Default: `kamihi_`. */
  collectionPrefix?: string;
  /** Indexes to create when the store connects, by collection name. */
  indexes?: Readonly<Record<string, readonly IndexSpec[]>>;
  /** The clock, for tests of expiry. Default: `() => new Date()`. */
  now?: () => Date;
  logger?: Logger;
}

interface Table {
  documents: Document[];
  indexes: IndexSpec[];
}

interface Snapshot {
  version: 1;
  collections: Record<string, Table>;
}

const FORMAT_VERSION = 1;
/** The longest wait between two attempts to write a file that keeps failing. */
const MAX_RETRY_DELAY_MS = 30_000;

/**
 * The embedded store (`memory://`): the same {@link Store} in the process, with MongoDB query
 * and update semantics from mingo, unique and TTL indexes, no aliasing (documents are copied
 * in and out), and optional persistence to a file so a small bot survives a restart.
 */
export function createMemoryStore(options: MemoryStoreOptions = {}): Store {
  const prefix = options.collectionPrefix ?? "kamihi_";
  const now = options.now ?? (() => new Date());
  const file =
    options.file === undefined ? undefined : resolve(options.cwd ?? process.cwd(), options.file);
  const flushDelayMs = options.flushDelayMs ?? 20;
  const retryDelayMs = options.retryDelayMs ?? 1000;
  const log = (options.logger ?? silentLogger).child({ component: "db" });
  const tables = new Map<string, Table>();
  let closed = false;
  let flushTimer: NodeJS.Timeout | undefined;
  let writing: Promise<void> = Promise.resolve();
  let dirty = false;
  /** Failed writes in a row, and the reason of the last one (logged when it changes). */
  let failures = 0;
  let lastFailure: string | undefined;
  let lock: FileLock | undefined;

  async function load() {
    if (file === undefined) return;
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ENOTDIR") return;
      throw new KamihiError(
        "KAMIHI_DB_UNREACHABLE",
        `Could not read the embedded store's file ${file}: ${(error as Error).message}. Check its permissions, or remove ?file= from db.url to keep data in memory only.`,
        { cause: error, details: { file } },
      );
    }
    let snapshot: Snapshot;
    try {
      // Written canonical (every type kept), read relaxed (numbers come back as numbers).
      snapshot = EJSON.parse(text, { relaxed: true }) as Snapshot;
      if (snapshot.version !== FORMAT_VERSION || typeof snapshot.collections !== "object") {
        throw new Error(`unknown format version ${String(snapshot.version)}`);
      }
    } catch (error) {
      throw new KamihiError(
        "KAMIHI_DB_UNREACHABLE",
        `The embedded store's file ${file} is not a Kamihi data file (${(error as Error).message}). Move it away to start with an empty store.`,
        { cause: error, details: { file } },
      );
    }
    for (const [name, table] of Object.entries(snapshot.collections)) {
      tables.set(name, { documents: table.documents, indexes: table.indexes });
    }
  }

  async function doConnect() {
    if (file !== undefined) {
      // Fail now, naming the path, rather than on the first write (or never, silently).
      await checkWritableFile(file);
      lock = await acquireFileLock(file, { ...options.lock, logger: log });
    }
    try {
      if (closed) throw closedError();
      await load();
      for (const [name, specs] of Object.entries(options.indexes ?? {})) {
        for (const spec of specs) ensureIndex(table(prefix + name), prefix + name, spec);
      }
    } catch (error) {
      await releaseLock();
      throw error;
    }
  }

  async function releaseLock() {
    const held = lock;
    lock = undefined;
    await held?.release();
  }

  const start = startOnce(doConnect);
  function connect(): Promise<void> {
    return closed ? Promise.reject(closedError()) : start();
  }

  function scheduleFlush() {
    if (file === undefined || closed) return;
    dirty = true;
    // The file is another process's now: close() reports the changes it could not keep.
    if (lock?.lost === true) return;
    // While writes fail, new changes wait for the next retry instead of hammering the disk.
    flushTimer ??= setTimeout(flushLater, failures === 0 ? flushDelayMs : retryDelay());
  }

  function flushLater() {
    flushTimer = undefined;
    flush().catch(() => {
      // Logged and retried by flush itself; a timer must never throw.
    });
  }

  function retryDelay(): number {
    return Math.min(MAX_RETRY_DELAY_MS, retryDelayMs * 2 ** Math.max(0, failures - 1));
  }

  /**
   * Writes the whole store atomically (temp file + rename); writes never overlap. A failed
   * write is logged at once with the path and the reason, the data stays dirty (the store
   * keeps serving from memory) and the write is tried again, less and less often.
   */
  function flush(): Promise<void> {
    if (file === undefined || !dirty) return writing;
    const path = file;
    if (lock?.lost === true) {
      // Another process owns the file now: writing would erase its changes.
      return Promise.reject(
        new KamihiError(
          "KAMIHI_DB_LOCKED",
          `The embedded store's file ${path} was taken over by another process; the changes made by this process since then are not in the file.`,
          { details: { file: path } },
        ),
      );
    }
    dirty = false;
    writing = writing.then(async () => {
      try {
        const text = EJSON.stringify(
          { version: FORMAT_VERSION, collections: Object.fromEntries(tables) },
          {
            relaxed: false,
          },
        );
        await makeFolder(dirname(path));
        const temporary = `${path}.${process.pid}.tmp`;
        await writeFile(temporary, text);
        await rename(temporary, path);
        if (failures > 0) {
          log.info(
            { file: path, failures },
            `the embedded store wrote ${path} again, after ${failures} failed attempts`,
          );
        }
        failures = 0;
        lastFailure = undefined;
      } catch (error) {
        dirty = true;
        failures++;
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
          if (flushTimer !== undefined) clearTimeout(flushTimer);
          flushTimer = setTimeout(flushLater, retry);
        }
        throw new KamihiError(
          "KAMIHI_DB_OPERATION_FAILED",
          `The embedded store could not write ${path} (${reason}). Check the disk and the folder's permissions.`,
          { cause: error, details: { file: path } },
        );
      }
    });
    // Keep the chain usable after a failure; callers of this flush still see its error.
    const current = writing;
    writing = current.catch(() => {});
    return current;
  }

  function table(name: string): Table {
    let found = tables.get(name);
    if (found === undefined) {
      found = { documents: [], indexes: [] };
      tables.set(name, found);
    }
    return found;
  }

  function makeCollection<T extends Document>(name: string): Collection<T> {
    const fullName = prefix + name;

    /** Runs one operation after start-up, translating engine errors. */
    async function run<R>(what: string, fn: (t: Table) => R): Promise<R> {
      await connect();
      // close() may have run while this operation waited: it must not write after it.
      if (closed) throw closedError();
      try {
        const t = table(fullName);
        purgeExpired(t);
        return fn(t);
      } catch (error) {
        if (isKamihiError(error)) throw error;
        throw new KamihiError(
          "KAMIHI_DB_INVALID_QUERY",
          `The embedded store could not run ${what} on ${fullName}: ${(error as Error).message}`,
          { cause: error, details: { collection: fullName, operation: what } },
        );
      }
    }

    function purgeExpired(t: Table) {
      const rules = ttlRules(t);
      if (rules.length === 0) return;
      const alive = new Query(andFilter({}, notExpired(rules, now())) ?? {}, {});
      const before = t.documents.length;
      t.documents = t.documents.filter((doc) => alive.test(doc));
      if (t.documents.length !== before) {
        forgetKeys(t);
        scheduleFlush();
      }
    }

    function matching(t: Table, filter: unknown, sort?: FindOptions["sort"]): Document[] {
      const query = checkFilter(fullName, filter);
      let cursor = mingoFind(t.documents, query);
      if (sort) cursor = cursor.sort(sort);
      return cursor.all() as Document[];
    }

    /** Rejects `candidate` when a unique index already holds one of its keys elsewhere. */
    function checkUnique(t: Table, candidate: Document, ignore?: Document) {
      for (const spec of t.indexes) {
        if (!spec.unique) continue;
        const holders = uniqueKeyMap(t, spec);
        for (const key of keysOf(spec, candidate)) {
          const holder = holders.get(keyText(key));
          if (holder !== undefined && holder !== ignore) {
            throw duplicateKeyError(fullName, key, indexName(spec));
          }
        }
      }
      const clash = t.documents.find((doc) => doc !== ignore && doc._id === candidate._id);
      if (clash !== undefined) throw duplicateKeyError(fullName, { _id: candidate._id }, "_id_");
    }

    function insert(t: Table, doc: Document): Document {
      assertStorable(fullName, doc);
      const stored = structuredClone(withInsertFields(doc, now()));
      checkUnique(t, stored);
      t.documents.push(stored);
      trackKeys(t, stored, true);
      return stored;
    }

    /** Applies an update to a copy, checks uniqueness, then swaps the copy in. */
    function apply(t: Table, doc: Document, change: Document): Document {
      const { $setOnInsert: _ignored, ...operators } = change;
      const next = structuredClone(doc);
      mingoUpdate(next, operators, undefined, undefined, { cloneMode: "deep" });
      if (next._id !== doc._id) {
        throw new KamihiError(
          "KAMIHI_DB_INVALID_QUERY",
          `An update cannot change _id (collection ${fullName})`,
        );
      }
      checkUnique(t, next, doc);
      t.documents[t.documents.indexOf(doc)] = next;
      trackKeys(t, doc, false);
      trackKeys(t, next, true);
      return next;
    }

    /** The document an upsert inserts: the filter's equalities, then the update. */
    function upsertDocument(filter: Document, change: Document): Document {
      const doc: Document = {};
      const equalities = (clauses: Document) => {
        for (const [key, value] of Object.entries(clauses)) {
          if (key === "$and" && Array.isArray(value)) {
            for (const clause of value) equalities(clause as Document);
            continue;
          }
          if (key.startsWith("$")) continue;
          if (isOperatorObject(value)) {
            if ("$eq" in (value as Document)) setDotted(doc, key, (value as Document).$eq);
            continue;
          }
          setDotted(doc, key, value);
        }
      };
      equalities(filter);
      const { $setOnInsert, ...operators } = change;
      for (const [key, value] of Object.entries(($setOnInsert as Document | undefined) ?? {})) {
        setDotted(doc, key, structuredClone(value));
      }
      mingoUpdate(doc, operators, undefined, undefined, { cloneMode: "deep" });
      return doc;
    }

    function updateDocs(
      t: Table,
      kind: "one" | "many",
      filter: unknown,
      update: unknown,
      opts: UpdateOptions & { sort?: FindOptions["sort"] } = {},
    ): { result: UpdateResult; before?: Document; after?: Document } {
      const base = checkFilter(fullName, filter);
      const upsert = opts.upsert === true;
      const change = withUpdateFields(base, checkUpdate(fullName, update), now(), upsert);
      const found = matching(t, base, opts.sort);
      const targets = kind === "one" ? found.slice(0, 1) : found;
      if (targets.length === 0) {
        if (!upsert) return { result: { matchedCount: 0, modifiedCount: 0, upsertedId: null } };
        const inserted = insert(t, upsertDocument(base, change));
        scheduleFlush();
        return {
          result: { matchedCount: 0, modifiedCount: 0, upsertedId: String(inserted._id) },
          after: inserted,
        };
      }
      let before: Document | undefined;
      let after: Document | undefined;
      for (const doc of targets) {
        before ??= doc;
        const next = apply(t, doc, change);
        after ??= next;
      }
      scheduleFlush();
      return {
        result: { matchedCount: targets.length, modifiedCount: targets.length, upsertedId: null },
        ...(before === undefined ? {} : { before }),
        ...(after === undefined ? {} : { after }),
      };
    }

    const out = <R>(doc: Document) => structuredClone(doc) as R;

    return {
      name,
      findOne: (filter, opts) =>
        run("findOne", (t) => {
          const query = checkFilter(fullName, filter);
          let cursor = mingoFind(t.documents, query, opts?.projection);
          if (opts?.sort) cursor = cursor.sort(opts.sort);
          const [first] = cursor.limit(1).all() as Document[];
          return first === undefined ? null : out<Stored<T>>(first);
        }),
      find: (filter, opts: FindOptions = {}) =>
        run("find", (t) => {
          let cursor = mingoFind(t.documents, checkFilter(fullName, filter), opts.projection);
          if (opts.sort) cursor = cursor.sort(opts.sort);
          if (opts.skip) cursor = cursor.skip(opts.skip);
          if (opts.limit) cursor = cursor.limit(opts.limit);
          return (cursor.all() as Document[]).map((doc) => out<Stored<T>>(doc));
        }),
      insertOne: (doc: Insertable<T>) =>
        run("insertOne", (t) => {
          const stored = insert(t, doc);
          scheduleFlush();
          return out<Stored<T>>(stored);
        }),
      insertMany: (docs: readonly Insertable<T>[]) =>
        run("insertMany", (t) => {
          // Like an ordered MongoDB insert: documents before a failing one stay inserted.
          const stored: Document[] = [];
          try {
            for (const doc of docs) stored.push(insert(t, doc));
          } finally {
            if (stored.length > 0) scheduleFlush();
          }
          return stored.map((doc) => out<Stored<T>>(doc));
        }),
      updateOne: (filter, update, opts) =>
        run("updateOne", (t) => updateDocs(t, "one", filter, update, opts).result),
      updateMany: (filter, update, opts) =>
        run("updateMany", (t) => updateDocs(t, "many", filter, update, opts).result),
      findOneAndUpdate: (filter, update, opts: FindOneAndUpdateOptions = {}) =>
        run("findOneAndUpdate", (t) => {
          const { before, after } = updateDocs(t, "one", filter, update, opts);
          const doc = (opts.returnDocument ?? "after") === "after" ? after : before;
          return doc === undefined ? null : out<Stored<T>>(doc);
        }),
      deleteOne: (filter) =>
        run("deleteOne", (t) => {
          const [doc] = matching(t, filter);
          if (doc === undefined) return { deletedCount: 0 };
          t.documents.splice(t.documents.indexOf(doc), 1);
          trackKeys(t, doc, false);
          scheduleFlush();
          return { deletedCount: 1 };
        }),
      deleteMany: (filter) =>
        run("deleteMany", (t) => {
          const doomed = new Set(matching(t, filter));
          if (doomed.size === 0) return { deletedCount: 0 };
          t.documents = t.documents.filter((doc) => !doomed.has(doc));
          forgetKeys(t);
          scheduleFlush();
          return { deletedCount: doomed.size };
        }),
      countDocuments: (filter) => run("countDocuments", (t) => matching(t, filter).length),
      createIndex: (spec: IndexSpec) => run("createIndex", (t) => ensureIndex(t, fullName, spec)),
    };
  }

  /** Creates an index unless an identical one exists; a unique index must hold already. */
  function ensureIndex(t: Table, fullName: string, spec: IndexSpec): string {
    const name = indexName(spec);
    const existing = t.indexes.find((index) => indexName(index) === name);
    if (existing !== undefined) {
      if (canonicalIndex(existing) !== canonicalIndex({ ...spec, name })) {
        throw new KamihiError(
          "KAMIHI_DB_INVALID_QUERY",
          `An index named ${name} with other options already exists on ${fullName}; give the new index another name.`,
        );
      }
      return name;
    }
    const next = { ...spec, name };
    if (next.unique) {
      const seen = new Set<string>();
      for (const doc of t.documents) {
        for (const key of keysOf(next, doc)) {
          const text = EJSON.stringify(key, { relaxed: false });
          if (seen.has(text)) throw duplicateKeyError(fullName, key, name);
          seen.add(text);
        }
      }
    }
    t.indexes.push(next);
    scheduleFlush();
    return name;
  }

  function ttlRules(t: Table): TtlRule[] {
    return t.indexes.flatMap((spec) => {
      const rule = ttlRuleOf(spec);
      return rule === undefined ? [] : [rule];
    });
  }

  const store: Store = {
    kind: "memory",
    connect,
    collection: collectionCache((name) => makeCollection(name)),
    async ping() {
      if (closed) throw closedError();
    },
    /** Writes the file now if anything changed (batched writes wait for no timer), then resolves. */
    async sync() {
      if (file === undefined) return;
      if (flushTimer !== undefined) clearTimeout(flushTimer);
      flushTimer = undefined;
      await flush();
    },
    async close() {
      if (closed) return;
      closed = true;
      if (flushTimer !== undefined) clearTimeout(flushTimer);
      flushTimer = undefined;
      try {
        await flush();
      } finally {
        // Even when the last write failed: the data is lost either way, the file is free.
        await releaseLock();
      }
    },
    raw: () => ({ tables, flush }),
  };
  return store;
}

function closedError() {
  return new KamihiError(
    "KAMIHI_DB_OPERATION_FAILED",
    "The embedded store is closed; create a new one to use it again.",
  );
}

function isOperatorObject(value: unknown): boolean {
  return (
    value !== null &&
    typeof value === "object" &&
    !Array.isArray(value) &&
    !(value instanceof Date) &&
    Object.keys(value).some((key) => key.startsWith("$"))
  );
}

function setDotted(target: Document, path: string, value: unknown) {
  const parts = path.split(".");
  let node = target;
  for (const part of parts.slice(0, -1)) {
    if (node[part] === null || typeof node[part] !== "object") node[part] = {};
    node = node[part] as Document;
  }
  node[parts.at(-1) as string] = value;
}

function getDotted(doc: Document, path: string): unknown {
  let node: unknown = doc;
  for (const part of path.split(".")) {
    if (node === null || typeof node !== "object") return undefined;
    node = (node as Document)[part];
  }
  return node;
}

/**
 * Per table and unique index: each key (as canonical EJSON) and the document holding it. Built
 * on first use, kept in step on insert, update and single deletes, dropped on bulk changes:
 * an insert checks its keys in constant time instead of scanning every document.
 */
const uniqueKeyMaps = new WeakMap<Table, Map<string, Map<string, Document>>>();

function keyText(key: Document): string {
  return EJSON.stringify(key, { relaxed: false });
}

function uniqueKeyMap(t: Table, spec: IndexSpec): Map<string, Document> {
  let perIndex = uniqueKeyMaps.get(t);
  if (perIndex === undefined) {
    perIndex = new Map();
    uniqueKeyMaps.set(t, perIndex);
  }
  const id = canonicalIndex(spec);
  let holders = perIndex.get(id);
  if (holders === undefined) {
    holders = new Map();
    for (const doc of t.documents) {
      for (const key of keysOf(spec, doc)) holders.set(keyText(key), doc);
    }
    perIndex.set(id, holders);
  }
  return holders;
}

/** Keeps the unique-key maps in step with a document entering (or leaving) a table. */
function trackKeys(t: Table, doc: Document, present: boolean): void {
  const perIndex = uniqueKeyMaps.get(t);
  if (perIndex === undefined) return;
  for (const spec of t.indexes) {
    if (!spec.unique) continue;
    const holders = perIndex.get(canonicalIndex(spec));
    if (holders === undefined) continue;
    for (const key of keysOf(spec, doc)) {
      const text = keyText(key);
      if (present) holders.set(text, doc);
      else if (holders.get(text) === doc) holders.delete(text);
    }
  }
}

function forgetKeys(t: Table): void {
  uniqueKeyMaps.delete(t);
}

/**
 * The keys a unique index holds for a document: a missing field counts as null, and an array
 * field contributes one key per element (a multikey index), as in MongoDB.
 */
function keysOf(spec: IndexSpec, doc: Document): Document[] {
  let keys: Document[] = [{}];
  for (const field of Object.keys(spec.keys)) {
    const value = getDotted(doc, field) ?? null;
    const values: unknown[] = Array.isArray(value)
      ? value.length === 0
        ? [null]
        : value
      : [value];
    keys = keys.flatMap((key) => values.map((v) => ({ ...key, [field]: v ?? null })));
  }
  return keys;
}

/** An index spec in a form that ignores property order. */
function canonicalIndex(spec: IndexSpec): string {
  return JSON.stringify([
    Object.entries(spec.keys),
    spec.unique === true,
    spec.expireAfterSeconds ?? null,
    spec.name ?? null,
  ]);
}
