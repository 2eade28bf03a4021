import { createRequire } from "node:module";
import {
  type Collection,
  type DeleteResult,
  type Document,
  type Filter,
  type FindOneAndUpdateOptions,
  type FindOptions,
  type IndexSpec,
  type Insertable,
  isKamihiError,
  KamihiError,
  type Logger,
  redactUrlCredentials,
  type Store,
  type Stored,
  silentLogger,
  type UpdateFilter,
  type UpdateOptions,
  type UpdateResult,
} from "@kamihi/core";
import type {
  Db,
  Collection as DriverCollection,
  MongoClient,
  MongoClientOptions,
  MongoServerError,
} from "mongodb";
import { idOf, matches, project } from "./by-id.js";
import {
  andFilter,
  assertStorable,
  checkFilter,
  checkUpdate,
  collectionCache,
  duplicateKeyError,
  expired,
  indexName,
  notExpired,
  startOnce,
  type TtlRule,
  ttlRuleOf,
  withInsertFields,
  withUpdateFields,
} from "./common.js";

/** Options of {@link createMongoStore}. */
export interface MongoStoreOptions {
  /** `mongodb://` or `mongodb+srv://` connection string (`db.url`). */
  url: string;
  /** Database name (`db.name`). */
  dbName: string;
  /** Prefix of every collection name. Default: `kamihi_`. */
  collectionPrefix?: string;
  /** How long start-up may wait for the server. Default: 5000 ms. */
  connectTimeoutMs?: number;
  /** How long one operation may take before it fails with `KAMIHI_DB_OPERATION_FAILED`. Default: 10000 ms. */
  operationTimeoutMs?: number;
  /** Indexes to create (idempotently) when the store connects, by collection name. */
  indexes?: Readonly<Record<string, readonly IndexSpec[]>>;
  /**
   * Lock each document for single-document updates, for servers whose conditional updates are
   * not atomic under concurrency. Default: detected (on for FerretDB, off for MongoDB).
   */
  serializeUpdates?: boolean;
  /** How often expired documents are deleted when the server has no TTL indexes. Default: 60000 ms. */
  ttlSweepIntervalMs?: number;
  /** Extra driver options. */
  clientOptions?: MongoClientOptions;
  logger?: Logger;
}

/**
 * A {@link Store} over MongoDB through the official driver. It connects on {@link Store.connect}
 * or lazily on first use; a server that does not answer in time raises
 * `KAMIHI_DB_UNREACHABLE`. While running, the driver reconnects by itself and an operation
 * during an outage fails with `KAMIHI_DB_OPERATION_FAILED` instead of hanging.
 */
export function createMongoStore(options: MongoStoreOptions): Store {
  const { MongoClient, MongoServerError } = driver();
  const prefix = options.collectionPrefix ?? "kamihi_";
  const connectTimeoutMs = options.connectTimeoutMs ?? 5000;
  const operationTimeoutMs = options.operationTimeoutMs ?? 10_000;
  const log = (options.logger ?? silentLogger).child({ component: "db" });
  const shownUrl = redactUrlCredentials(options.url);
  let client: MongoClient;
  try {
    client = new MongoClient(options.url, {
      appName: "kamihi",
      serverSelectionTimeoutMS: connectTimeoutMs,
      connectTimeoutMS: connectTimeoutMs,
      ...options.clientOptions,
    });
  } catch (error) {
    throw new KamihiError(
      "KAMIHI_CONFIG_INVALID",
      `db.url ${shownUrl} is not a valid MongoDB connection string (${scrubPassword(options.url, (error as Error).message)}). Percent-encode special characters in the user name and password, e.g. @ as %40.`,
      { cause: error, details: { url: shownUrl } },
    );
  }
  const db: Db = client.db(options.dbName);
  let closed = false;
  const ttl = new Map<string, Promise<TtlRule[]>>();

  /** Never let a driver message carry the password into a log or an error. */
  const scrub = (text: string) => scrubPassword(options.url, text);

  async function doConnect() {
    const started = Date.now();
    try {
      await withTimeout(client.connect(), connectTimeoutMs + 1000, "connect");
      await withTimeout(db.command({ ping: 1 }), connectTimeoutMs, "ping");
      if (options.serializeUpdates === undefined) {
        const info = await withTimeout(
          db.admin().command({ buildInfo: 1 }),
          connectTimeoutMs,
          "buildInfo",
        );
        serializeUpdates = info.ferretdbVersion !== undefined;
        if (serializeUpdates) {
          log.info("FerretDB detected: single-document updates are serialized with Kamihi's locks");
        }
      }
    } catch (error) {
      await client.close(true).catch(() => {});
      const reason = scrub(error instanceof Error ? error.message : String(error));
      throw new KamihiError(
        "KAMIHI_DB_UNREACHABLE",
        `Could not reach MongoDB at ${shownUrl} within ${Math.round(connectTimeoutMs / 100) / 10}s (${reason}). Start MongoDB or check db.url (KAMIHI_DB__URL); for a quick start without MongoDB, set db.url to memory:// to use the embedded store.`,
        { cause: error, details: { url: shownUrl, waitedMs: Date.now() - started } },
      );
    }
    for (const [name, specs] of Object.entries(options.indexes ?? {})) {
      for (const spec of specs) {
        try {
          await withTimeout(ensureIndex(prefix + name, spec), operationTimeoutMs, "createIndex");
        } catch (error) {
          await client.close(true).catch(() => {});
          throw translate(prefix + name, "createIndex", error);
        }
      }
    }
    log.debug({ url: shownUrl, db: options.dbName }, "connected to MongoDB");
  }

  const start = startOnce(doConnect);
  function connect(): Promise<void> {
    if (closed) {
      return Promise.reject(
        new KamihiError(
          "KAMIHI_DB_OPERATION_FAILED",
          "The store is closed; create a new one to use MongoDB again.",
        ),
      );
    }
    return start();
  }

  function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer to ${what} within ${ms} ms`)), ms);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  }

  /**
   * Runs one operation: connected, bounded in time, with errors translated. `attempted` are
   * the documents a write tried to store, to name the clashing key when the server does not.
   */
  async function run<T>(
    collection: string,
    what: string,
    fn: () => Promise<T>,
    attempted?: () => readonly Document[],
  ): Promise<T> {
    await connect();
    try {
      return await withTimeout(fn(), operationTimeoutMs, what);
    } catch (error) {
      const translated = translate(collection, what, error);
      if (
        isKamihiError(translated, "KAMIHI_DB_DUPLICATE_KEY") &&
        translated.details.key === undefined &&
        attempted !== undefined
      ) {
        const key = await findClash(collection, attempted()).catch(() => undefined);
        if (key !== undefined) throw duplicateKeyError(collection, key.key, key.index, error);
      }
      throw translated;
    }
  }

  /** The unique key of `attempted` that an existing document already holds. */
  async function findClash(
    collection: string,
    attempted: readonly Document[],
  ): Promise<{ key: Document; index: string } | undefined> {
    const raw = db.collection<Document>(collection);
    const indexes = await raw.listIndexes().toArray();
    for (const index of indexes) {
      if (index.unique !== true && index.name !== "_id_") continue;
      const fields = Object.keys(index.key as Document);
      for (const doc of attempted) {
        if (fields.some((field) => !(field in doc))) continue;
        const key = Object.fromEntries(fields.map((field) => [field, doc[field]]));
        if ((await raw.countDocuments(key, { limit: 2 })) >= 1) {
          return { key, index: String(index.name) };
        }
      }
    }
    return undefined;
  }

  function translate(collection: string, what: string, error: unknown): unknown {
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
    if (error instanceof MongoServerError && isQueryShapeError(error)) {
      return new KamihiError(
        "KAMIHI_DB_INVALID_QUERY",
        `MongoDB rejected ${what} on ${collection}: ${reason}`,
        {
          cause: error,
          details: { collection, operation: what },
        },
      );
    }
    return new KamihiError(
      "KAMIHI_DB_OPERATION_FAILED",
      `MongoDB could not run ${what} on ${collection}: ${reason}. If the server is down, start it again; the connection recovers by itself.`,
      { cause: error, details: { collection, operation: what } },
    );
  }

  /** TTL rules Kamihi enforces itself because the server has no TTL indexes (FerretDB 1.x). */
  const emulatedTtl = new Map<string, TtlRule[]>();
  let sweeper: NodeJS.Timeout | undefined;

  function emulateTtl(name: string, rule: TtlRule) {
    const rules = emulatedTtl.get(name) ?? [];
    if (!rules.some((r) => r.field === rule.field && r.seconds === rule.seconds)) rules.push(rule);
    emulatedTtl.set(name, rules);
    if (sweeper === undefined) {
      log.warn(
        "the MongoDB server does not support TTL indexes; Kamihi hides expired documents and deletes them itself every minute",
      );
      sweeper = setInterval(() => void sweep(), options.ttlSweepIntervalMs ?? 60_000);
      sweeper.unref();
    }
  }

  async function sweep() {
    for (const [name, rules] of emulatedTtl) {
      const stale = expired(rules, new Date());
      if (stale === undefined) continue;
      await db
        .collection(name)
        .deleteMany(stale)
        .catch((error: unknown) => log.warn({ err: error, collection: name }, "TTL sweep failed"));
    }
  }

  async function ttlRules(name: string, raw: DriverCollection<Document>): Promise<TtlRule[]> {
    return [...(await serverTtlRules(name, raw)), ...(emulatedTtl.get(name) ?? [])];
  }

  function serverTtlRules(name: string, raw: DriverCollection<Document>): Promise<TtlRule[]> {
    let rules = ttl.get(name);
    if (rules === undefined) {
      rules = raw
        .listIndexes()
        .toArray()
        .then((indexes) =>
          indexes.flatMap((index) => {
            const rule = ttlRuleOf({
              keys: index.key as Record<string, 1 | -1>,
              ...(typeof index.expireAfterSeconds === "number"
                ? { expireAfterSeconds: index.expireAfterSeconds }
                : {}),
            });
            return rule === undefined ? [] : [rule];
          }),
        )
        .catch((error: unknown) => {
          // A collection that does not exist yet has no indexes.
          if (
            error instanceof MongoServerError &&
            (error.code === 26 || /not ?found|does not exist/i.test(error.message))
          ) {
            return [];
          }
          ttl.delete(name);
          throw error;
        });
      ttl.set(name, rules);
    }
    return rules;
  }

  /** Creates an index unless it exists; TTL falls back to Kamihi's own expiry where needed. */
  async function ensureIndex(fullName: string, spec: IndexSpec): Promise<string> {
    const raw = db.collection<Document>(fullName);
    const name = indexName(spec);
    const base = { name, ...(spec.unique ? { unique: true } : {}) };
    const rule = ttlRuleOf(spec);
    if (rule === undefined) {
      await raw.createIndex(spec.keys, base);
    } else {
      try {
        await raw.createIndex(spec.keys, { ...base, expireAfterSeconds: rule.seconds });
      } catch (error) {
        if (!isTtlUnsupported(error)) throw error;
        await raw.createIndex(spec.keys, base);
        emulateTtl(fullName, rule);
      }
    }
    ttl.delete(fullName);
    return name;
  }

  /** Whether single-document updates need Kamihi's locks (see `serialized`). */
  let serializeUpdates = options.serializeUpdates ?? false;
  const locks = () => db.collection<{ _id: string; at: Date }>(`${prefix}_locks`);

  /**
   * On FerretDB, a filter naming one `_id` is run as a bare `{ _id }` lookup (its primary
   * key) and the rest of the filter is tested here: anything more than `{ _id }` makes FerretDB
   * 1.x scan the whole collection. MongoDB gets the filter as it is.
   */
  function primaryKeyLookup(
    filter: unknown,
    projection?: Record<string, 0 | 1>,
  ): { id: unknown } | undefined {
    if (!serializeUpdates || filter === null || typeof filter !== "object") return undefined;
    if (projection !== undefined && Object.keys(projection).some((key) => key.includes("."))) {
      return undefined;
    }
    return idOf(filter as Document);
  }

  /** Takes a short-lived lock by inserting its id; waits (bounded) while someone holds it. */
  async function acquireLock(id: string) {
    const deadline = Date.now() + operationTimeoutMs;
    for (let attempt = 0; ; attempt++) {
      try {
        await locks().insertOne({ _id: id, at: new Date() });
        return;
      } catch (error) {
        if (!isDuplicateError(error)) throw error;
      }
      // A holder that died leaves its lock behind: it expires after the operation bound.
      await locks().deleteOne({ _id: id, at: { $lt: new Date(Date.now() - operationTimeoutMs) } });
      if (Date.now() > deadline)
        throw new Error(`the document stayed locked for ${operationTimeoutMs} ms`);
      await new Promise((resolve) =>
        setTimeout(resolve, Math.min(50, 2 + attempt * 2) * Math.random()),
      );
    }
  }

  function makeCollection<T extends Document>(name: string): Collection<T> {
    const fullName = prefix + name;
    const raw = db.collection<Document>(fullName);
    const visible = async (filter: unknown) =>
      andFilter(
        checkFilter(fullName, filter),
        notExpired(await ttlRules(fullName, raw), new Date()),
      );

    /** An insert that meets an expired duplicate purges expired documents and tries once more. */
    async function retryAfterPurge<R>(
      fn: () => Promise<R>,
      beforeRetry?: (error: unknown) => void,
    ): Promise<R> {
      try {
        return await fn();
      } catch (error) {
        const rules = await ttlRules(fullName, raw);
        const stale = expired(rules, new Date());
        if (!isDuplicateError(error) || stale === undefined) throw error;
        const purged = await raw.deleteMany(stale);
        if (purged.deletedCount === 0) throw error;
        beforeRetry?.(error);
        return fn();
      }
    }

    const collection: Collection<T> = {
      name,
      findOne: (filter, opts) =>
        run(fullName, "findOne", async () => {
          const query = await visible(filter);
          const byId = primaryKeyLookup(filter, opts?.projection);
          if (byId !== undefined) {
            const found = await raw.findOne({ _id: byId.id as never });
            return (
              found !== null && matches(query, found) ? project(found, opts?.projection) : null
            ) as Stored<T> | null;
          }
          const doc = await raw.findOne(query, {
            ...(opts?.sort ? { sort: opts.sort } : {}),
            ...(opts?.projection ? { projection: opts.projection } : {}),
          });
          return doc as unknown as Stored<T> | null;
        }),
      find: (filter, opts: FindOptions = {}) =>
        run(fullName, "find", async () => {
          let cursor = raw.find(await visible(filter));
          if (opts.sort) cursor = cursor.sort(opts.sort);
          if (opts.skip) cursor = cursor.skip(opts.skip);
          if (opts.limit) cursor = cursor.limit(opts.limit);
          if (opts.projection) cursor = cursor.project(opts.projection);
          return (await cursor.toArray()) as unknown as Stored<T>[];
        }),
      insertOne: (doc: Insertable<T>) =>
        run(
          fullName,
          "insertOne",
          async () => {
            assertStorable(fullName, doc);
            const stored = withInsertFields(structuredClone(doc), new Date());
            await retryAfterPurge(() => raw.insertOne({ ...stored }));
            return structuredClone(stored) as Stored<T>;
          },
          () => [doc],
        ),
      insertMany: (docs: readonly Insertable<T>[]) =>
        run(
          fullName,
          "insertMany",
          async () => {
            if (docs.length === 0) return [];
            for (const doc of docs) assertStorable(fullName, doc);
            const now = new Date();
            const stored = docs.map((doc) => withInsertFields(structuredClone(doc), now));
            // An ordered insert stops at the first clash; after purging expired documents,
            // only the rest is sent again.
            let from = 0;
            await retryAfterPurge(
              () =>
                raw.insertMany(
                  stored.slice(from).map((doc) => ({ ...doc })),
                  { ordered: true },
                ),
              (error) => {
                const index = (error as { writeErrors?: Array<{ index?: number }> })
                  .writeErrors?.[0]?.index;
                from += index ?? 0;
              },
            );
            return structuredClone(stored) as Stored<T>[];
          },
          () => docs,
        ),
      updateOne: (filter, update, opts?: UpdateOptions) =>
        run(
          fullName,
          "updateOne",
          () => updateWith("one", filter, update, opts),
          () => attemptedBy(filter, update),
        ),
      updateMany: (filter, update, opts?: UpdateOptions) =>
        run(
          fullName,
          "updateMany",
          () => updateWith("many", filter, update, opts),
          () => attemptedBy(filter, update),
        ),
      findOneAndUpdate: (filter, update, opts: FindOneAndUpdateOptions = {}) =>
        run(
          fullName,
          "findOneAndUpdate",
          async () => {
            const base = checkFilter(fullName, filter);
            const upsert = opts.upsert === true;
            const change = withUpdateFields(
              base,
              checkUpdate(fullName, update),
              new Date(),
              upsert,
            );
            const query = await visible(base);
            const doc = await serialized(query, opts.sort, primaryKeyLookup(base), (target) =>
              retryAfterPurge(() =>
                raw.findOneAndUpdate(target, change, {
                  upsert,
                  returnDocument: opts.returnDocument ?? "after",
                  ...(opts.sort ? { sort: opts.sort } : {}),
                  includeResultMetadata: false,
                }),
              ),
            );
            return doc as unknown as Stored<T> | null;
          },
          () => attemptedBy(filter, update),
        ),
      deleteOne: (filter) =>
        run(fullName, "deleteOne", async (): Promise<DeleteResult> => {
          const query = await visible(filter);
          const byId = primaryKeyLookup(filter);
          if (byId !== undefined) {
            const found = await raw.findOne({ _id: byId.id as never });
            if (found === null || !matches(query, found)) return { deletedCount: 0 };
            const result = await raw.deleteOne({ _id: found._id as never });
            return { deletedCount: result.deletedCount };
          }
          const result = await raw.deleteOne(query);
          return { deletedCount: result.deletedCount };
        }),
      deleteMany: (filter) =>
        run(fullName, "deleteMany", async (): Promise<DeleteResult> => {
          const result = await raw.deleteMany(await visible(filter));
          return { deletedCount: result.deletedCount };
        }),
      countDocuments: (filter) =>
        run(fullName, "countDocuments", async () => raw.countDocuments(await visible(filter))),
      createIndex: (spec: IndexSpec) =>
        run(fullName, "createIndex", () => ensureIndex(fullName, spec)),
    };

    /**
     * Runs a single-document update so that concurrent callers see it as atomic, as MongoDB
     * guarantees. On servers that do not (FerretDB 1.x reads and writes a document in two
     * steps, so two conditional updates can both win), the target document is locked first
     * with a unique insert into the locks collection, which those servers do enforce.
     */
    async function serialized<R>(
      query: Document,
      sort: FindOptions["sort"],
      byId: { id: unknown } | undefined,
      update: (target: Document) => Promise<R>,
    ): Promise<R> {
      if (!serializeUpdates) return update(query);
      let candidate: Document | null;
      if (byId !== undefined) {
        candidate = await raw.findOne({ _id: byId.id as never });
        if (candidate !== null && !matches(query, candidate)) candidate = null;
      } else {
        candidate = await raw.findOne(query, {
          projection: { _id: 1 },
          ...(sort ? { sort } : {}),
        });
      }
      // No match: nothing to race for (an upsert's insert is guarded by unique indexes).
      if (candidate === null) return update(query);
      const id = candidate._id;
      const lockId = `${fullName}:${String(id)}`;
      await acquireLock(lockId);
      try {
        return await update(await lockedTarget(query, id));
      } finally {
        await locks()
          .deleteOne({ _id: lockId as never })
          .catch(() => {});
      }
    }

    /**
     * The filter that updates a locked document: its bare `_id` (answered from the primary
     * key) when it still matches `query`, which no other writer can change while it is
     * locked; otherwise the full filter, which then matches nothing (or upserts).
     */
    async function lockedTarget(query: Document, id: unknown): Promise<Document> {
      const current = await raw.findOne({ _id: id as never });
      return current !== null && matches(query, current)
        ? { _id: id }
        : { $and: [query, { _id: id }] };
    }

    /**
     * `updateMany`, made safe against concurrent single-document updates where the server needs
     * it: each matched document is updated under its lock, as {@link serialized} does.
     */
    async function updateEach(query: Document, change: Document, upsert: boolean) {
      if (!serializeUpdates)
        return retryAfterPurge(() => raw.updateMany(query, change, { upsert }));
      const ids = (await raw.find(query, { projection: { _id: 1 } }).toArray()).map((d) => d._id);
      if (ids.length === 0) return retryAfterPurge(() => raw.updateMany(query, change, { upsert }));
      let matchedCount = 0;
      let modifiedCount = 0;
      for (const id of ids) {
        const lockId = `${fullName}:${String(id)}`;
        await acquireLock(lockId);
        try {
          const target = await lockedTarget(query, id);
          const one = await retryAfterPurge(() => raw.updateOne(target, change));
          matchedCount += one.matchedCount;
          modifiedCount += one.modifiedCount;
        } finally {
          await locks()
            .deleteOne({ _id: lockId as never })
            .catch(() => {});
        }
      }
      return { matchedCount, modifiedCount, upsertedId: null };
    }

    async function updateWith(
      kind: "one" | "many",
      filter: Filter<Stored<T>>,
      update: UpdateFilter<T>,
      opts: UpdateOptions = {},
    ): Promise<UpdateResult> {
      const base = checkFilter(fullName, filter);
      const upsert = opts.upsert === true;
      const change = withUpdateFields(base, checkUpdate(fullName, update), new Date(), upsert);
      const query = await visible(base);
      const result =
        kind === "one"
          ? await serialized(query, undefined, primaryKeyLookup(base), (target) =>
              retryAfterPurge(() => raw.updateOne(target, change, { upsert })),
            )
          : await updateEach(query, change, upsert);
      return {
        matchedCount: result.matchedCount,
        modifiedCount: result.modifiedCount,
        upsertedId: result.upsertedId === null ? null : String(result.upsertedId),
      };
    }

    return collection;
  }

  const store: Store = {
    kind: "mongodb",
    connect,
    collection: collectionCache((name) => makeCollection(name)),
    async ping() {
      await run("admin", "ping", async () => {
        await db.command({ ping: 1 });
      });
    },
    async close() {
      closed = true;
      if (sweeper !== undefined) clearInterval(sweeper);
      await client.close();
    },
    raw: () => db,
  };
  return store;
}

/** Removes the password of `url` (and the whole URL's credentials) from a driver message. */
function scrubPassword(url: string, text: string): string {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(url)?.[0] ?? "";
  const rest = url.slice(scheme.length);
  const at = rest.lastIndexOf("@");
  let out = text.split(url).join(redactUrlCredentials(url));
  if (at !== -1) {
    const credentials = rest.slice(0, at);
    const password = credentials.includes(":")
      ? credentials.slice(credentials.indexOf(":") + 1)
      : credentials;
    if (password !== "") out = out.split(password).join("***");
  }
  return out;
}

/** What an update tries to store, as far as a unique key can tell: filter and `$set` values. */
function attemptedBy(filter: unknown, update: unknown): Document[] {
  const equalities = Object.fromEntries(
    Object.entries((filter ?? {}) as Document).filter(
      ([key, value]) =>
        !key.startsWith("$") &&
        (value === null || typeof value !== "object" || value instanceof Date),
    ),
  );
  const set = ((update ?? {}) as { $set?: Document }).$set ?? {};
  return [{ ...equalities, ...set }];
}

/**
 * A unique index said no. MongoDB answers code 11000; FerretDB 1.x (SQLite) does too on
 * inserts, but reports a unique clash on update as an internal "UNIQUE constraint failed".
 */
function isDuplicateError(error: unknown): boolean {
  const e = error as { code?: number; message?: string; writeErrors?: Array<{ code?: number }> };
  if (e.code === 11000 || e.writeErrors?.some((w) => w.code === 11000) === true) return true;
  return /UNIQUE constraint failed|E11000 duplicate key/.test(e.message ?? "");
}

/** The server refused a TTL index because it does not implement them. */
function isTtlUnsupported(error: unknown): boolean {
  const e = error as { code?: number; message?: string };
  return e.code === 238 || /expireAfterSeconds.*not (implemented|supported)/i.test(e.message ?? "");
}

/** Server errors that mean the query itself is wrong, not the server. */
function isQueryShapeError(error: MongoServerError): boolean {
  // BadValue, FailedToParse, TypeMismatch, InvalidOptions, ConflictingUpdateOperators, …
  return [2, 9, 14, 40, 52, 72].includes(Number(error.code));
}

/**
 * The MongoDB driver, loaded on first use: a bot on the embedded store never loads it (it is
 * the largest single part of start-up otherwise). Required rather than imported, so creating a
 * store stays synchronous; the driver is a CommonJS package either way.
 */
function driver(): typeof import("mongodb") {
  loadedDriver ??= createRequire(import.meta.url)("mongodb") as typeof import("mongodb");
  return loadedDriver;
}
let loadedDriver: typeof import("mongodb") | undefined;
