import {
  type IndexSpec,
  KamihiError,
  type Logger,
  redactUrlCredentials,
  type Store,
  silentLogger,
} from "@kamihi/core";
import type { MongoClientOptions } from "mongodb";
import { collectionCache, startOnce } from "./common.js";
import { createMongoCollection, type MongoCollectionContext } from "./mongo/collection.js";
import { connectWithin, openClient } from "./mongo/connect.js";
import { translateError } from "./mongo/errors.js";
import { ensureIndex } from "./mongo/indexes.js";
import { createDocumentLocks } from "./mongo/locks.js";
import { createOperationRunner } from "./mongo/operation.js";
import { scrubPassword } from "./mongo/redact.js";
import { withTimeLimit } from "./mongo/time-limit.js";
import { createTtlRules } from "./mongo/ttl.js";

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
 *
 * The pieces live in `mongo/`: connecting (`connect.ts`), the operation runner and its time
 * limit (`operation.ts`), driver errors (`errors.ts`), TTL (`ttl.ts`), indexes, document
 * locks and the collection itself (`collection.ts`).
 */
export function createMongoStore(options: MongoStoreOptions): Store {
  const prefix = options.collectionPrefix ?? "kamihi_";
  const connectTimeoutMs = options.connectTimeoutMs ?? 5000;
  const operationTimeoutMs = options.operationTimeoutMs ?? 10_000;
  const log = (options.logger ?? silentLogger).child({ component: "db" });
  const scrub = (text: string) => scrubPassword(options.url, text);
  const { client, db } = openClient({ ...options, connectTimeoutMs });
  const ttl = createTtlRules(db, {
    sweepIntervalMs: options.ttlSweepIntervalMs ?? 60_000,
    logger: log,
  });
  let serializeUpdates = options.serializeUpdates ?? false;
  let closed = false;

  const start = startOnce(async () => {
    const server = await connectWithin(client, db, {
      url: options.url,
      connectTimeoutMs,
      detectServer: options.serializeUpdates === undefined,
    });
    if (server.ferretdb !== undefined) {
      serializeUpdates = server.ferretdb;
      if (serializeUpdates) {
        log.info("FerretDB detected: single-document updates are serialized with Kamihi's locks");
      }
    }
    for (const [name, specs] of Object.entries(options.indexes ?? {})) {
      for (const spec of specs) {
        try {
          const made = ensureIndex(db, prefix + name, spec, ttl);
          await withTimeLimit(made, operationTimeoutMs, "createIndex");
        } catch (error) {
          await client.close(true).catch(() => {});
          throw translateError(prefix + name, "createIndex", error, scrub);
        }
      }
    }
    log.debug(
      { url: redactUrlCredentials(options.url), db: options.dbName },
      "connected to MongoDB",
    );
  });

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

  const context: MongoCollectionContext = {
    db,
    run: createOperationRunner({ db, connect, operationTimeoutMs, scrub }),
    ttl,
    locks: createDocumentLocks(db, prefix, operationTimeoutMs),
    serializeUpdates: () => serializeUpdates,
  };

  return {
    kind: "mongodb",
    connect,
    collection: collectionCache((name) => createMongoCollection(name, prefix + name, context)),
    async ping() {
      await context.run("admin", "ping", async () => {
        await db.command({ ping: 1 });
      });
    },
    async close() {
      closed = true;
      ttl.stop();
      await client.close();
    },
    raw: () => db,
  };
}
