/**
 * Kamihi: a batteries-included framework for Telegram bots. The runtime, the singleton bot and the `kamihi` command.
 *
 * @packageDocumentation
 */

export {};
