import type {
  FastifyRateLimitStore,
  FastifyRateLimitStoreCtor,
  RateLimitPluginOptions,
} from "@fastify/rate-limit";
import type { Clock } from "@kamihi/core";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";

/** What the shared sign-in limit throws: answered 429 and logged as one warning. */
export class TooManySignIns extends Error {
  readonly statusCode = 429;
  /** Attempts allowed per address and minute. */
  readonly max: number;

  constructor(max: number) {
    super("Too many sign-in attempts from this address; wait a minute and try again.");
    this.name = "TooManySignIns";
    this.max = max;
  }
}

/** Addresses counted at once; past it the longest unseen one is forgotten (as an LRU does). */
const MAX_ADDRESSES = 5000;

/**
 * The rate limiter's store, timed by `clock`: fixed windows per key, as @fastify/rate-limit's
 * own in-memory store counts them, so a test moves the minute on instead of waiting for it.
 */
export function attemptsStore(clock: Clock): FastifyRateLimitStoreCtor {
  class ClockedAttempts implements FastifyRateLimitStore {
    private readonly windows = new Map<string, { count: number; startedAt: number }>();

    incr(
      key: string,
      callback: (error: Error | null, result?: { current: number; ttl: number }) => void,
      timeWindow: number,
    ): void {
      const now = clock();
      let window = this.windows.get(key);
      if (window === undefined || window.startedAt + timeWindow <= now) {
        window = { count: 0, startedAt: now };
      }
      window.count += 1;
      this.windows.delete(key);
      this.windows.set(key, window);
      if (this.windows.size > MAX_ADDRESSES) {
        const oldest = this.windows.keys().next().value;
        if (oldest !== undefined) this.windows.delete(oldest);
      }
      callback(null, { current: window.count, ttl: window.startedAt + timeWindow - now });
    }

    child(): FastifyRateLimitStore {
      return new ClockedAttempts();
    }
  }
  return ClockedAttempts;
}

/** The rate limiter's plugin options: nothing limited unless a route asks (sign-in does). */
export function rateLimitOptions(clock: Clock): RateLimitPluginOptions {
  return { global: false, store: attemptsStore(clock) };
}

/**
 * The `onRequest` hook of every sign-in route: one budget of `max` attempts a minute per
 * client address, shared by the routes (one limiter, so the budget is the address's, not the
 * route's). Over it, the request fails with {@link TooManySignIns} and a `Retry-After`.
 */
export function signInLimit(app: FastifyInstance, max: number) {
  const attempts = app.createRateLimit({ max, timeWindow: 60_000 });
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const result = await attempts(request);
    if (result.isAllowed || !result.isExceeded) return;
    reply.header("retry-after", result.ttlInSeconds);
    throw new TooManySignIns(max);
  };
}
