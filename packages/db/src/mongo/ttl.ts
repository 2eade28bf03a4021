import { type Clock, type Document, type Logger, systemClock } from "@kamihi/core";
import type { Db } from "mongodb";
import { expired, notExpired, type TtlRule, ttlRuleOf } from "../common.js";
import { type Repeat, repeatEvery } from "../repeat.js";
import { isDuplicateError, isMissingCollection } from "./errors.js";

/** Options of {@link createTtlRules}. */
export interface TtlRulesOptions {
  /** How often emulated rules are swept. */
  sweepIntervalMs: number;
  logger: Logger;
  /** Runs the sweeps. Default: a wall-clock interval. */
  repeat?: Repeat;
  /** What "now" is for expiry. Default: the system clock. */
  clock?: Clock;
}

/**
 * The TTL rules of a database's collections. A document past its TTL must be gone for every
 * read whether or not the server removed it yet (MongoDB's TTL monitor runs once a minute), and
 * a server without TTL indexes (FerretDB 1.x) gets them emulated: Kamihi hides expired
 * documents and deletes them itself.
 */
export interface TtlRules {
  /** The filter that hides the expired documents of `name`, if it has TTL rules. */
  unexpired(name: string): Promise<Document | undefined>;
  /** The filter that selects the expired documents of `name`, if it has TTL rules. */
  expired(name: string): Promise<Document | undefined>;
  /** Kamihi enforces `rule` on `name` itself, since the server has no TTL indexes. */
  emulate(name: string, rule: TtlRule): void;
  /** The indexes of `name` changed: they are read again on next use. */
  forget(name: string): void;
  /** Deletes the documents that emulated rules say have expired. */
  sweep(): Promise<void>;
  /**
   * Runs `write`; if it meets a unique clash and `name` has expired documents, deletes them
   * and runs it once more (after `beforeRetry`): an expired document never blocks a write.
   */
  retryAfterPurge<R>(
    name: string,
    write: () => Promise<R>,
    beforeRetry?: (error: unknown) => void,
  ): Promise<R>;
  /** Stops sweeping. */
  stop(): void;
}

/** The {@link TtlRules} of `db`: read from its indexes once per collection, plus emulated ones. */
export function createTtlRules(db: Db, options: TtlRulesOptions): TtlRules {
  const log = options.logger;
  const repeat = options.repeat ?? repeatEvery;
  const clock = options.clock ?? systemClock;
  const fromServer = new Map<string, Promise<TtlRule[]>>();
  const emulated = new Map<string, TtlRule[]>();
  let stopSweeping: (() => void) | undefined;

  function serverRules(name: string): Promise<TtlRule[]> {
    let rules = fromServer.get(name);
    if (rules === undefined) {
      rules = db
        .collection(name)
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
          if (isMissingCollection(error)) return [];
          fromServer.delete(name);
          throw error;
        });
      fromServer.set(name, rules);
    }
    return rules;
  }

  async function rulesOf(name: string): Promise<TtlRule[]> {
    return [...(await serverRules(name)), ...(emulated.get(name) ?? [])];
  }

  const ttl: TtlRules = {
    async unexpired(name) {
      return notExpired(await rulesOf(name), new Date(clock()));
    },
    async expired(name) {
      return expired(await rulesOf(name), new Date(clock()));
    },
    emulate(name, rule) {
      const rules = emulated.get(name) ?? [];
      if (!rules.some((r) => r.field === rule.field && r.seconds === rule.seconds))
        rules.push(rule);
      emulated.set(name, rules);
      if (stopSweeping === undefined) {
        log.warn(
          "the MongoDB server does not support TTL indexes; Kamihi hides expired documents and deletes them itself every minute",
        );
        stopSweeping = repeat(options.sweepIntervalMs, () => ttl.sweep());
      }
    },
    forget(name) {
      fromServer.delete(name);
    },
    async sweep() {
      for (const [name, rules] of emulated) {
        const stale = expired(rules, new Date(clock()));
        if (stale === undefined) continue;
        await db
          .collection(name)
          .deleteMany(stale)
          .catch((error: unknown) =>
            log.warn({ err: error, collection: name }, "TTL sweep failed"),
          );
      }
    },
    async retryAfterPurge(name, write, beforeRetry) {
      try {
        return await write();
      } catch (error) {
        const stale = await ttl.expired(name);
        if (!isDuplicateError(error) || stale === undefined) throw error;
        const purged = await db.collection(name).deleteMany(stale);
        if (purged.deletedCount === 0) throw error;
        beforeRetry?.(error);
        return write();
      }
    },
    stop() {
      stopSweeping?.();
    },
  };
  return ttl;
}
