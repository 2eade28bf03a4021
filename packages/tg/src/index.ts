/**
 * The Kamihi Transport over Telegraf: polling or webhook, safe Markdown, long texts split,
 * sends paced under Telegram's limits with 429s waited out and failures typed.
 *
 * @packageDocumentation
 */

export { createTelegrafTransport } from "./transport.js";
export { deriveSecret } from "./webhook.js";
export type { TelegrafTransport, TelegrafTransportOptions } from "./transport.js";
export { RateLimiter, TELEGRAM_LIMITS } from "./rate-limiter.js";
export type { RateLimits } from "./rate-limiter.js";
export { markdownToEntities } from "./markdown.js";
export type { FormattedText } from "./markdown.js";
export { MAX_CAPTION_LENGTH, MAX_MESSAGE_LENGTH, prepare, splitText } from "./prepare.js";
export type { PreparedText } from "./prepare.js";
export { splitFormatted } from "./split.js";
export type { SplitOptions } from "./split.js";
export { formattedToMarkdownV2, toMarkdownV2 } from "./markdown-v2.js";
