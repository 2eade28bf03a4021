/**
 * Test helpers for Kamihi bots: the Bot API emulator and test chats of `@kamihi/testing`, so a
 * project that depends on `kamihi` alone can test its bot without Telegram or a network.
 *
 * ```ts
 * import { createEmulator, messageText } from "kamihi/testing";
 * ```
 *
 * @packageDocumentation
 */
export * from "@kamihi/testing";
