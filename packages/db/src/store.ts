import type { IndexSpec, Logger, Store } from "@kamihi/core";
import { KamihiError } from "@kamihi/core";
import { createMemoryStore } from "./memory.js";
import { createMongoStore } from "./mongo.js";

/** Options of {@link createStore}: the `db` settings plus wiring. */
export interface CreateStoreOptions {
  /** `db.url`: `mongodb://…`, `mongodb+srv://…`, `memory://` or `memory://?file=path.json`. */
  url: string;
  /** `db.name`: the MongoDB database. */
  name: string;
  /** Resolves the embedded store's relative `file`. Default: `process.cwd()`. */
  cwd?: string;
  collectionPrefix?: string;
  connectTimeoutMs?: number;
  operationTimeoutMs?: number;
  indexes?: Readonly<Record<string, readonly IndexSpec[]>>;
  logger?: Logger;
}

/**
 * The store `db.url` asks for: MongoDB for `mongodb://` and `mongodb+srv://`, the embedded
 * store for `memory://` (with `?file=…` to keep the data on disk).
 */
export function createStore(options: CreateStoreOptions): Store {
  const common = {
    ...(options.collectionPrefix === undefined
      ? {}
      : { collectionPrefix: options.collectionPrefix }),
    ...(options.indexes === undefined ? {} : { indexes: options.indexes }),
  };
  if (options.url.startsWith("memory:")) {
    const file = parseMemoryUrl(options.url);
    return createMemoryStore({
      ...common,
      ...(file === undefined ? {} : { file }),
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
      ...(options.logger === undefined ? {} : { logger: options.logger }),
    });
  }
  if (options.url.startsWith("mongodb://") || options.url.startsWith("mongodb+srv://")) {
    return createMongoStore({
      ...common,
      url: options.url,
      dbName: options.name,
      ...(options.connectTimeoutMs === undefined
        ? {}
        : { connectTimeoutMs: options.connectTimeoutMs }),
      ...(options.operationTimeoutMs === undefined
        ? {}
        : { operationTimeoutMs: options.operationTimeoutMs }),
      ...(options.logger === undefined ? {} : { logger: options.logger }),
    });
  }
  throw new KamihiError(
    "KAMIHI_CONFIG_INVALID",
    `db.url must start with mongodb://, mongodb+srv:// or memory://, got "${options.url.split(":")[0]}:…"`,
  );
}

/** The file of a `memory://?file=…` URL, if any. */
export function parseMemoryUrl(url: string): string | undefined {
  const query = url.slice(url.indexOf("?") + 1);
  if (!url.includes("?")) return undefined;
  const file = new URLSearchParams(query).get("file");
  return file === null || file === "" ? undefined : file;
}
