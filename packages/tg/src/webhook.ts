import { createHmac, timingSafeEqual } from "node:crypto";
import { KamihiError, type Logger, type Update } from "@kamihi/core";
import type { FastifyInstance } from "fastify";
import type { Call } from "./call.js";

/** `tg.webhook.*`. */
export interface WebhookSettings {
  url?: string;
  path?: string;
  secretToken?: string;
  host?: string;
  port?: number;
}

/** What {@link startWebhook} works with. */
export interface WebhookOptions {
  settings: WebhookSettings | undefined;
  token: string;
  call: Call;
  log: Logger;
  allowedUpdates?: string[];
  /**
   * Takes one update in. Telegram gets its 200 only once this resolves (the update is safe);
   * a rejection answers 503, and Telegram delivers the update again later.
   */
  deliver(update: Update): Promise<void>;
}

/** A running webhook server. */
export interface Webhook {
  /** `http://host:port` the server is bound to. */
  address: string;
  /** Stops accepting calls and waits for the ones in progress. */
  close(): Promise<void>;
}

/**
 * Receives updates over HTTPS from Telegram: a Fastify server checks the secret token before
 * reading a body, then answers each update only once it is safe, so an update is never
 * acknowledged and then lost.
 */
export async function startWebhook(options: WebhookOptions): Promise<Webhook> {
  const { token, call, log } = options;
  const url = options.settings?.url;
  if (url === undefined) {
    throw new KamihiError(
      "KAMIHI_TG_WEBHOOK_UNAVAILABLE",
      "tg.mode is webhook but tg.webhook.url is not set; set it to the public https URL Telegram should post updates to.",
    );
  }
  const path = options.settings?.path ?? new URL(url).pathname;
  const secret = options.settings?.secretToken ?? deriveSecret(token);
  const expected = Buffer.from(secret);
  // Loaded here: a polling bot never needs an HTTP server.
  const { default: Fastify } = await import("fastify");
  const app: FastifyInstance = Fastify({ logger: false, bodyLimit: 10 * 1024 * 1024 });
  let closing = false;
  // Closing waits for the updates in progress, and Telegram keeps its connections alive: an
  // answer given while closing ends its connection, or the close would wait for Telegram to
  // hang up (72 s, Fastify's keep-alive).
  app.addHook("onSend", async (_request, reply) => {
    if (closing) reply.header("connection", "close");
  });
  // The secret is checked before the body is read: a stranger's request costs nothing.
  app.addHook("onRequest", async (request, reply) => {
    const given = Buffer.from(String(request.headers["x-telegram-bot-api-secret-token"] ?? ""));
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      log.warn({ ip: request.ip }, "webhook call with a wrong or missing secret token refused");
      return reply.code(401).send({ ok: false, description: "wrong secret token" });
    }
  });
  app.post(path, async (request, reply) => {
    const update = request.body as Update | undefined;
    if (update === null || typeof update !== "object" || typeof update.update_id !== "number") {
      return reply.code(400).send({ ok: false, description: "not a Telegram update" });
    }
    try {
      await options.deliver(update);
      return reply.code(200).send({ ok: true });
    } catch (error) {
      log.warn(
        { err: error, updateId: update.update_id },
        "an update could not be taken in safely; Telegram will deliver it again",
      );
      return reply.code(503).send({ ok: false });
    }
  });
  const host = options.settings?.host ?? "0.0.0.0";
  const port = options.settings?.port ?? 8443;
  let address: string;
  try {
    address = await app.listen({ host, port });
  } catch (error) {
    throw new KamihiError(
      "KAMIHI_TG_WEBHOOK_UNAVAILABLE",
      `The webhook server could not listen on ${host}:${port} (${(error as Error).message}); set tg.webhook.port to a free port.`,
      { cause: error },
    );
  }
  try {
    await call("setWebhook", {
      url,
      secret_token: secret,
      ...(options.allowedUpdates ? { allowed_updates: options.allowedUpdates } : {}),
    });
  } catch (error) {
    await app.close();
    throw new KamihiError(
      "KAMIHI_TG_WEBHOOK_UNAVAILABLE",
      `Telegram did not accept the webhook ${url}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  log.info({ url, listening: address }, "receiving updates by webhook");
  return {
    address,
    close: () => {
      closing = true;
      return app.close();
    },
  };
}

/**
 * The webhook secret when none is configured: derived from the token, so every instance of
 * the bot agrees on it without configuration, and nobody without the token can guess it.
 */
export function deriveSecret(token: string): string {
  return createHmac("sha256", token).update("kamihi webhook secret").digest("base64url");
}
