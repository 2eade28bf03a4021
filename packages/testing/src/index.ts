/**
 * Test Telegram bots without Telegram: a Bot API emulator on loopback, test chats that send,
 * press and upload, and wait for replies without sleeps.
 *
 * @packageDocumentation
 */

export { createEmulator, DEFAULT_TEST_TOKEN, Emulator } from "./emulator.js";
export type { ApiCall, EmulatorOptions, Fault } from "./emulator.js";
export type { ChatEvent, ChatHost, StoredFile } from "./chat-host.js";
export { messageText, TestChat } from "./chat.js";
export { freePort } from "./ports.js";
export { createPlayground, DEFAULT_PLAYGROUND_PORT } from "./playground.js";
export type { Playground, PlaygroundOptions, PlaygroundUser } from "./playground.js";
export type { ChatOptions, ReplyMatcher } from "./chat.js";
export type { FloodLimits } from "./limits.js";
export { BotApiError } from "./api-error.js";
export { EntityParseError, parseHtml, parseMarkdownV2 } from "./markup.js";
export type { ParsedText } from "./markup.js";
