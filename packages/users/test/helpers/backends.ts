import assert from "node:assert/strict";
import type { Collection, Document, KamihiErrorCode, Store, TelegramUser } from "@kamihi/core";
import { isKamihiError } from "@kamihi/core";
import { createMemoryStore, createMongoStore } from "@kamihi/db";
import { requiredMongoUrl, uniqueDbName } from "@kamihi/db/conformance";

/** One database of a test suite; `connect()` opens another connection to the same data. */
export interface TestDatabase {
  /** A connected store over this database (for the memory store: always the same one). */
  connect(): Promise<Store>;
  /** Drops the database (MongoDB) and closes every store opened by `connect()`. */
  close(): Promise<void>;
}

export interface Backend {
  kind: "memory" | "mongodb";
  /** Why this backend's suites are skipped, if they are. */
  skip?: string;
  /** A fresh, empty database. */
  open(): Promise<TestDatabase>;
}

let databases = 0;

const memory: Backend = {
  kind: "memory",
  async open() {
    const store = createMemoryStore();
    await store.connect();
    return {
      connect: async () => store,
      close: () => store.close(),
    };
  },
};

const mongo = requiredMongoUrl();

const mongodb: Backend = {
  kind: "mongodb",
  ...(mongo.skip === undefined ? {} : { skip: mongo.skip }),
  async open() {
    const url = mongo.url ?? "";
    const dbName = uniqueDbName(`kamihi_users${++databases}`);
    const stores: Store[] = [];
    return {
      async connect() {
        const store = createMongoStore({ url, dbName });
        await store.connect();
        stores.push(store);
        return store;
      },
      async close() {
        const first = stores[0];
        if (first !== undefined) {
          await (first.raw() as { dropDatabase(): Promise<unknown> }).dropDatabase();
        }
        await Promise.all(stores.map((store) => store.close()));
      },
    };
  },
};

/** The memory store always; the MongoDB-compatible server when KAMIHI_TEST_MONGODB_URL is set. */
export const backends: readonly Backend[] = [memory, mongodb];

/** A Telegram sender as updates carry it. */
export function tg(id: number, firstName = `User ${id}`, extra: Partial<TelegramUser> = {}) {
  return { id, is_bot: false, first_name: firstName, ...extra } satisfies TelegramUser;
}

/** An `assert.rejects` check for a Kamihi error with this code (and more checks, if given). */
export function kamihiError(
  code: KamihiErrorCode,
  check?: (
    error: Error & {
      code: string;
      details: Record<string, unknown>;
      issues?: readonly { path: string }[];
    },
  ) => void,
) {
  return (error: unknown) => {
    assert.ok(isKamihiError(error, code), `expected ${code}, got ${String(error)}`);
    check?.(error as Parameters<NonNullable<typeof check>>[0]);
    return true;
  };
}

/** The paths of a validation error's issues. */
export function issuePaths(error: { issues?: readonly { path: string }[] }): string[] {
  return (error.issues ?? []).map((issue) => issue.path);
}

/** Counts the store operations on each collection, by method name. */
export interface Counter {
  count(collection: string, ...methods: string[]): number;
  reset(): void;
}

/** A store that forwards everything to `store` and counts the collection method calls. */
export function countingStore(store: Store): { store: Store; counter: Counter } {
  const calls = new Map<string, number>();
  const wrap = <T extends Document>(collection: Collection<T>): Collection<T> =>
    new Proxy(collection, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver);
        if (typeof value !== "function") return value;
        return (...args: unknown[]) => {
          const key = `${target.name}.${String(property)}`;
          calls.set(key, (calls.get(key) ?? 0) + 1);
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
  const counted = new Proxy(store, {
    get(target, property) {
      if (property === "collection") {
        return <T extends Document>(name: string) => wrap(target.collection<T>(name));
      }
      const value = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return {
    store: counted,
    counter: {
      count: (collection, ...methods) =>
        methods.reduce((sum, method) => sum + (calls.get(`${collection}.${method}`) ?? 0), 0),
      reset: () => calls.clear(),
    },
  };
}
