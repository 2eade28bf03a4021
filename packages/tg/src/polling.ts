import { isKamihiError, type KamihiError, type Logger, type Update } from "@kamihi/core";
import type { Call } from "./call.js";
import { sleep } from "./sleep.js";

/** What {@link startPolling} works with. */
export interface PollingOptions {
  call: Call;
  log: Logger;
  /** Update types to receive; Telegram's default when omitted. */
  allowedUpdates?: string[];
  /** Seconds Telegram holds a `getUpdates` open when nothing is waiting. Default: 30. */
  timeoutSeconds?: number;
  /**
   * Hands a batch over. Resolves once every update in it is safe (stored or handled): only
   * then is the batch confirmed to Telegram. A rejection leaves the batch unconfirmed, and it
   * is fetched again after a pause (the receiver recognises what it already has).
   */
  deliver(updates: Update[]): Promise<void>;
  /** A state polling cannot recover from (the token was revoked): polling has stopped. */
  onFatal(error: KamihiError): void;
  /** First pause after a failure; doubles up to `maxBackoffMs`. Default: 500 ms. */
  backoffMs?: number;
  /** Default: 30 s. */
  maxBackoffMs?: number;
}

/** A running poller. */
export interface Polling {
  /** Stops fetching, waits for the batch being handed over, then confirms what was taken. */
  stop(): Promise<void>;
}

/**
 * Long polling that never loses an update: the offset moves past a batch only after
 * `deliver` said it is safe, so a crash or a store outage leaves it with Telegram. A 409
 * (another instance polls with this token, or a webhook is set) is retried with back-off until
 * the other one stops; a revoked or unknown token (401, 404) is fatal.
 */
export function startPolling(options: PollingOptions): Polling {
  const { call, log } = options;
  const timeout = options.timeoutSeconds ?? 30;
  const firstBackoff = options.backoffMs ?? 500;
  const maxBackoff = options.maxBackoffMs ?? 30_000;
  const controller = new AbortController();
  const { signal } = controller;
  /** The first update id not yet handed over and made safe. */
  let offset: number | undefined;
  /** The offset Telegram last heard of: updates before it are confirmed. */
  let confirmed: number | undefined;

  const backoff = (failures: number) => Math.min(firstBackoff * 2 ** failures, maxBackoff);

  async function loop() {
    let failures = 0;
    let refused = 0;
    let conflict = false;
    while (!signal.aborted) {
      let updates: Update[];
      try {
        confirmed = offset;
        updates = await call<Update[]>(
          "getUpdates",
          {
            ...(offset === undefined ? {} : { offset }),
            timeout,
            limit: 100,
            ...(options.allowedUpdates ? { allowed_updates: options.allowedUpdates } : {}),
          },
          { signal },
        );
      } catch (error) {
        if (signal.aborted) return;
        const code = errorCode(error);
        if (isKamihiError(error) && (code === 401 || code === 404)) {
          log.fatal({ err: error }, "polling stopped: Telegram refuses this bot token");
          options.onFatal(error);
          return;
        }
        const wait = backoff(failures++);
        if (code === 409) {
          if (!conflict) {
            log.warn(
              { waitMs: wait },
              "another instance is receiving updates with this bot token (polling, or a webhook is set); retrying until it stops",
            );
          }
          conflict = true;
        } else {
          log.warn({ err: error, waitMs: wait }, "getUpdates failed; retrying");
        }
        await sleep(wait, signal).catch(() => {});
        continue;
      }
      if (conflict) {
        log.info("receiving updates again: the other instance stopped");
        conflict = false;
      }
      failures = 0;
      const last = updates.at(-1);
      if (last === undefined) continue;
      try {
        await options.deliver(updates);
      } catch (error) {
        // Not safe yet (the store is down): the batch stays with Telegram and is fetched
        // again, with whatever came after it (the receiver knows what it already has).
        const wait = backoff(refused++);
        log.warn(
          { err: error, waitMs: wait, updates: updates.length },
          "updates could not be taken in safely; they stay with Telegram and are tried again",
        );
        await sleep(wait, signal).catch(() => {});
        continue;
      }
      refused = 0;
      offset = last.update_id + 1;
    }
  }

  const running = loop().catch((error: unknown) => {
    log.error({ err: error }, "polling stopped unexpectedly");
  });

  return {
    async stop() {
      controller.abort(new Error("polling stopped"));
      await running;
      if (offset === undefined || offset === confirmed) return;
      // Tell Telegram what was taken, so a restart does not fetch it again (it would be
      // recognised and skipped, but costs a round trip).
      await call("getUpdates", { offset, limit: 1, timeout: 0 }).catch((error: unknown) => {
        log.debug(
          { err: error },
          "the last offset could not be confirmed; it will be at the next start",
        );
      });
    },
  };
}

/** Telegram's error code of a failed call, when it answered. */
function errorCode(error: unknown): number | undefined {
  if (!isKamihiError(error)) return undefined;
  const code = (error.details as { errorCode?: unknown } | undefined)?.errorCode;
  return typeof code === "number" ? code : undefined;
}
