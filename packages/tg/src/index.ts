/**
 * The Kamihi Transport over Telegraf: polling or webhook, safe Markdown, long texts split,
 * sends paced under Telegram's limits with 429s waited out and failures typed.
 *
 * @packageDocumentation
 */

export { createTelegrafTransport, deriveSecret } from "./transport.js";
export type { TelegrafTransport, TelegrafTransportOptions } from "./transport.js";
export { RateLimiter, TELEGRAM_LIMITS } from "./rate-limiter.js";
export type { RateLimits } from "./rate-limiter.js";
export {
  MAX_CAPTION_LENGTH,
  MAX_MESSAGE_LENGTH,
  prepare,
  splitText,
  toMarkdownV2,
} from "./markdown.js";
export type { PreparedText } from "./markdown.js";
