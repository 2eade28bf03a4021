/**
 * Kamihi's template engine over Eta: discovery, rendering, Telegram-safe escaping, hot reload.
 *
 * @packageDocumentation
 */

export {};
