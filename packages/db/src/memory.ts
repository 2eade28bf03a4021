import { resolve } from "node:path";
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
import { update as mingoUpdate } from "mingo";
import {
  assertStorable,
  checkFilter,
  checkUpdate,
  collectionCache,
  startOnce,
  withInsertFields,
  withUpdateFields,
} from "./common.js";
import { checkWritableFile } from "./file-access.js";
import { acquireFileLock, type FileLock, type FileLockOptions } from "./file-lock.js";
import { createJournal, logPathOf } from "./memory/journal.js";
import { keyOf } from "./memory/keys.js";
import { project } from "./memory/project.js";
import { sortPage } from "./memory/sort.js";
import { type Entry, Table, type TableEvents } from "./memory/table.js";

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

/** Changes of a store kept in memory only go nowhere. */
const NO_EVENTS: TableEvents = { put() {}, delete() {}, indexes() {} };

/**
 * The embedded store (`memory://`): the same {@link Store} in the process, with MongoDB query
 * and update semantics from mingo, unique and TTL indexes, no aliasing (documents are copied
 * in and out), and optional persistence to a file so a small bot survives a restart.
 *
 * An equality on `_id` or on the first field of an index is answered from that index, and
 * TTL deadlines are kept in order, so an operation costs the documents it touches rather than
 * the collection.
 */
export function createMemoryStore(options: MemoryStoreOptions = {}): Store {
  const prefix = options.collectionPrefix ?? "kamihi_";
  const now = options.now ?? (() => new Date());
  const file =
    options.file === undefined ? undefined : resolve(options.cwd ?? process.cwd(), options.file);
  const log = (options.logger ?? silentLogger).child({ component: "db" });
  const tables = new Map<string, Table>();
  let closed = false;
  let lock: FileLock | undefined;
  const journal =
    file === undefined
      ? undefined
      : createJournal({
          file,
          flushDelayMs: options.flushDelayMs ?? 20,
          retryDelayMs: options.retryDelayMs ?? 1000,
          compactMinBytes: options.compactMinBytes ?? 1 << 20,
          logger: log,
          tables: () => tables.values(),
          lockLost: () => lock?.lost === true,
        });
  const events = journal?.events ?? NO_EVENTS;

  async function doConnect() {
    if (file !== undefined) {
      // Fail now, naming the path, rather than on the first write (or never, silently).
      await checkWritableFile(file);
      await checkWritableFile(logPathOf(file));
      lock = await acquireFileLock(file, { ...options.lock, logger: log });
    }
    try {
      if (closed) throw closedError();
      // Afresh, should an earlier attempt have failed half-way.
      tables.clear();
      const loaded = await journal?.load();
      for (const [name, collection] of loaded ?? []) {
        table(name).load(collection.docs.values(), collection.indexes);
      }
      for (const [name, specs] of Object.entries(options.indexes ?? {})) {
        for (const spec of specs) table(prefix + name).ensureIndex(spec);
      }
      journal?.start();
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

  function table(name: string): Table {
    let found = tables.get(name);
    if (found === undefined) {
      found = new Table(name, events);
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
        t.purge(now().getTime());
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

    /** The matching documents, sorted, skipped and limited; the stored ones, not copies. */
    function matching(
      t: Table,
      filter: Document,
      opts: { sort?: FindOptions["sort"]; skip?: number; limit?: number } = {},
    ): Document[] {
      const skip = Math.max(0, opts.skip ?? 0);
      const limit = opts.limit ? Math.abs(opts.limit) : undefined;
      if (opts.sort) return sortPage(t.select(filter), opts.sort, skip, limit).map(docOf);
      const found = t.select(filter, limit === undefined ? undefined : skip + limit);
      return found.slice(skip).map(docOf);
    }

    function insert(t: Table, doc: Document): Document {
      assertStorable(fullName, doc);
      const stored = structuredClone(withInsertFields(doc, now()));
      if (Array.isArray(stored._id)) {
        throw new KamihiError(
          "KAMIHI_DB_INVALID_QUERY",
          `_id cannot be an array (collection ${fullName}); use a string, a number or a sub-document`,
          { details: { collection: fullName } },
        );
      }
      return t.insert(stored).doc;
    }

    /** Applies an update to a copy, then swaps the copy in (the table checks uniqueness). */
    function apply(t: Table, entry: Entry, change: Document): Document {
      const { $setOnInsert: _ignored, ...operators } = change;
      const next = structuredClone(entry.doc);
      mingoUpdate(next, operators, undefined, undefined, { cloneMode: "deep" });
      if (keyOf(next._id) !== entry.id) {
        throw new KamihiError(
          "KAMIHI_DB_INVALID_QUERY",
          `An update cannot change _id (collection ${fullName})`,
        );
      }
      t.replace(entry, next);
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
      let targets: Entry[];
      if (kind === "many") {
        targets = t.select(base);
      } else if (opts.sort) {
        targets = sortPage(t.select(base), opts.sort, 0, 1);
      } else {
        targets = t.select(base, 1);
      }
      if (targets.length === 0) {
        if (!upsert) return { result: { matchedCount: 0, modifiedCount: 0, upsertedId: null } };
        const inserted = insert(t, upsertDocument(base, change));
        return {
          result: { matchedCount: 0, modifiedCount: 0, upsertedId: String(inserted._id) },
          after: inserted,
        };
      }
      let before: Document | undefined;
      let after: Document | undefined;
      for (const entry of targets) {
        before ??= entry.doc;
        const next = apply(t, entry, change);
        after ??= next;
      }
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
          const [first] = project(
            matching(t, query, { ...(opts?.sort ? { sort: opts.sort } : {}), limit: 1 }),
            opts?.projection,
          );
          return first === undefined ? null : out<Stored<T>>(first);
        }),
      find: (filter, opts: FindOptions = {}) =>
        run("find", (t) => {
          const found = matching(t, checkFilter(fullName, filter), {
            ...(opts.sort ? { sort: opts.sort } : {}),
            ...(opts.skip ? { skip: opts.skip } : {}),
            ...(opts.limit ? { limit: opts.limit } : {}),
          });
          return project(found, opts.projection).map((doc) => out<Stored<T>>(doc));
        }),
      insertOne: (doc: Insertable<T>) => run("insertOne", (t) => out<Stored<T>>(insert(t, doc))),
      insertMany: (docs: readonly Insertable<T>[]) =>
        run("insertMany", (t) => {
          // Like an ordered MongoDB insert: documents before a failing one stay inserted.
          const stored: Document[] = [];
          for (const doc of docs) stored.push(insert(t, doc));
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
          const [entry] = t.select(checkFilter(fullName, filter), 1);
          if (entry === undefined) return { deletedCount: 0 };
          t.remove(entry);
          return { deletedCount: 1 };
        }),
      deleteMany: (filter) =>
        run("deleteMany", (t) => {
          const doomed = t.select(checkFilter(fullName, filter));
          for (const entry of doomed) t.remove(entry);
          return { deletedCount: doomed.length };
        }),
      countDocuments: (filter) =>
        run("countDocuments", (t) => {
          const query = checkFilter(fullName, filter);
          return Object.keys(query).length === 0 ? t.size : t.select(query).length;
        }),
      createIndex: (spec: IndexSpec) => run("createIndex", (t) => t.ensureIndex(spec)),
    };
  }

  const store: Store = {
    kind: "memory",
    connect,
    collection: collectionCache((name) => makeCollection(name)),
    async ping() {
      if (closed) throw closedError();
    },
    /** Writes what changed (batched writes wait for no timer) and fsyncs it, then resolves. */
    async sync() {
      await journal?.sync();
    },
    async close() {
      if (closed) return;
      closed = true;
      try {
        await journal?.close();
      } finally {
        // Even when the last write failed: the data is lost either way, the file is free.
        await releaseLock();
      }
    },
    raw: () => ({
      tables,
      flush: () => journal?.flush() ?? Promise.resolve(),
      compact: () => journal?.compact() ?? Promise.resolve(),
    }),
  };
  return store;
}

const docOf = (entry: Entry) => entry.doc;

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
