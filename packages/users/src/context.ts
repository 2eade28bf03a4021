import { type Clock, type Logger, silentLogger, systemClock } from "@kamihi/core";
import { AccessCache } from "./cache.js";
import { ChangeLog } from "./change-log.js";
import { type Collections, openCollections } from "./documents.js";
import type { UserSchema } from "./fields.js";
import { LastSeen } from "./last-seen.js";
import type { Registration, UserServiceOptions } from "./options.js";

/**
 * What every part of the service shares: its collections, its cache and change log, and its
 * settings. Each concern (resolution, users, roles, permissions…) is a module of functions
 * that take it.
 */
export interface ServiceContext extends Collections {
  readonly registration: Registration;
  readonly defaultRoles: readonly string[];
  readonly schema: UserSchema | undefined;
  /** The bot's action names, when it said which it has. */
  readonly actionNames: (() => readonly string[]) | undefined;
  readonly clock: Clock;
  readonly log: Logger;
  readonly cache: AccessCache;
  readonly changeLog: ChangeLog;
  readonly lastSeen: LastSeen;
}

/** The shortest cache time: below it, every update would read the change log. */
const MIN_CACHE_MS = 50;

/** The shared state of one service, from its options. */
export function createContext(options: UserServiceOptions): ServiceContext {
  const collections = openCollections(options.store);
  const clock = options.clock ?? systemClock;
  const log = options.logger ?? silentLogger;
  const cache = new AccessCache(collections.permissions);
  return {
    ...collections,
    registration: options.registration ?? "closed",
    defaultRoles: options.defaultRoles ?? [],
    schema: options.schema,
    actionNames: options.actions,
    clock,
    log,
    cache,
    changeLog: new ChangeLog({
      changes: collections.changes,
      counters: collections.counters,
      cache,
      clock,
      log,
      cacheMs: Math.max(MIN_CACHE_MS, (options.cacheSeconds ?? 2) * 1000),
    }),
    lastSeen: new LastSeen({ users: collections.users, cache, clock, log }),
  };
}
