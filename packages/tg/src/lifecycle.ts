import {
  type BotInfo,
  KamihiError,
  type Logger,
  type TransportStartOptions,
  type Update,
  type UpdateContext,
  type UpdateHandler,
} from "@kamihi/core";
import type { Call } from "./call.js";
import { scrubError } from "./errors.js";
import { type Polling, startPolling } from "./polling.js";
import { startWebhook, type Webhook, type WebhookSettings } from "./webhook.js";

/** What {@link createLifecycle} works with. */
export interface LifecycleDeps<Raw> {
  token: string;
  call: Call;
  log: Logger;
  getMe(): Promise<BotInfo>;
  /** The context handed over with each update. */
  contextFor(update: Update): UpdateContext<Raw>;
  mode: "polling" | "webhook";
  webhook?: WebhookSettings;
  allowedUpdates?: string[];
  pollTimeoutSeconds?: number;
}

/** Receiving updates, from start to stop; it can start again once stopped. */
export interface Lifecycle<Raw> {
  start(onUpdate: UpdateHandler<Raw>, options?: TransportStartOptions): Promise<void>;
  /** Stops receiving and waits for the hand-overs in progress. */
  stop(): Promise<void>;
  /** Whether updates are being received (from start until stop, or a fatal error). */
  readonly receiving: boolean;
  /** The webhook server's address while it runs. */
  readonly webhookAddress: string | undefined;
}

/**
 * Starts and stops receiving: knows the bot first (commands name it), then polls or serves
 * the webhook, handing each update over with its context and the token scrubbed from errors.
 */
export function createLifecycle<Raw>(deps: LifecycleDeps<Raw>): Lifecycle<Raw> {
  const { token, call, log } = deps;
  const allowed = deps.allowedUpdates ? { allowedUpdates: deps.allowedUpdates } : {};
  let webhook: Webhook | undefined;
  let polling: Polling | undefined;
  let started = false;

  async function receive(onUpdate: UpdateHandler<Raw>, startOptions: TransportStartOptions) {
    // A receiver's error may quote a request URL, which holds the token.
    const deliver = (update: Update) =>
      onUpdate(update, deps.contextFor(update)).catch((error: unknown) => {
        throw scrubError(error, token);
      });
    const me = await deps.getMe();
    if (deps.mode === "webhook") {
      webhook = await startWebhook({
        settings: deps.webhook,
        token,
        call,
        log,
        deliver,
        ...allowed,
      });
      return;
    }
    await call("deleteWebhook", {});
    polling = startPolling({
      call,
      log,
      ...allowed,
      ...(deps.pollTimeoutSeconds === undefined ? {} : { timeoutSeconds: deps.pollTimeoutSeconds }),
      // In update order, all at once: the receiver keeps each chat's order.
      deliver: async (updates) => {
        await Promise.all(updates.map(deliver));
      },
      onFatal: (error) => {
        started = false;
        polling = undefined;
        startOptions.onFatal?.(error);
      },
    });
    log.info({ bot: me.username }, "receiving updates by long polling");
  }

  return {
    get receiving() {
      return started;
    },
    get webhookAddress() {
      return webhook?.address;
    },
    async start(onUpdate, startOptions = {}) {
      if (started) {
        throw new KamihiError(
          "KAMIHI_BOT_RUNNING",
          "The transport is already receiving updates; stop it before starting it again.",
        );
      }
      started = true;
      try {
        await receive(onUpdate, startOptions);
      } catch (error) {
        started = false;
        throw error;
      }
    },
    async stop() {
      if (!started) return;
      started = false;
      await webhook?.close();
      webhook = undefined;
      await polling?.stop();
      polling = undefined;
    },
  };
}
