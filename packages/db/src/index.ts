/**
 * The Kamihi Store: MongoDB through the official driver, and an embedded in-process store
 * with the same behaviour.
 *
 * @packageDocumentation
 */

export { createStore, parseMemoryUrl } from "./store.js";
export type { CreateStoreOptions } from "./store.js";
export { createMongoStore } from "./mongo.js";
export type { MongoStoreOptions } from "./mongo.js";
export { createMemoryStore } from "./memory.js";
export type { MemoryStoreOptions } from "./memory.js";
export { UPDATE_OPERATORS } from "./common.js";
export { literal, assertNoOperators } from "@kamihi/core";
