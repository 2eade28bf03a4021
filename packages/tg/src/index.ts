/**
 * The Kamihi Transport over Telegraf: polling, webhooks, sending, rate limits and retries.
 *
 * @packageDocumentation
 */

export {};
