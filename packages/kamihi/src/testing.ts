/**
 * Test helpers for Kamihi bots: the Bot API emulator and test chats of `@kamihi/testing`, so a
 * project can test its bot without Telegram or a network.
 *
 * ```ts
 * import { createEmulator, messageText } from "kamihi/testing";
 * ```
 *
 * `@kamihi/testing` is an optional peer of `kamihi`: a bot's production install leaves it (and
 * its HTTP server) out, and projects made by create-kamihi have it as a development dependency.
 *
 * @packageDocumentation
 */
import type * as Testing from "@kamihi/testing";
import { needing } from "./optional-packages.js";

/** Imports `@kamihi/testing`, or says how to install it when the project does not have it. */
function importTesting(): Promise<typeof Testing> {
  return needing("@kamihi/testing", "kamihi/testing", () => import("@kamihi/testing"));
}

const testing = await importTesting();

export const BotApiError = testing.BotApiError;
export const createEmulator = testing.createEmulator;
export const createPlayground = testing.createPlayground;
export const DEFAULT_PLAYGROUND_PORT = testing.DEFAULT_PLAYGROUND_PORT;
export const DEFAULT_TEST_TOKEN = testing.DEFAULT_TEST_TOKEN;
export const Emulator = testing.Emulator;
export const EntityParseError = testing.EntityParseError;
export const freePort = testing.freePort;
export const messageText = testing.messageText;
export const parseHtml = testing.parseHtml;
export const parseMarkdownV2 = testing.parseMarkdownV2;
export const TestChat = testing.TestChat;

// The classes are types too, as they are in @kamihi/testing; so is every type it exports.
export type BotApiError = Testing.BotApiError;
export type Emulator = Testing.Emulator;
export type EntityParseError = Testing.EntityParseError;
export type TestChat = Testing.TestChat;
export type * from "@kamihi/testing";

// Typecheck fails here when @kamihi/testing gains a value that the list above does not pass on.
const _passedOn = {
  BotApiError,
  createEmulator,
  createPlayground,
  DEFAULT_PLAYGROUND_PORT,
  DEFAULT_TEST_TOKEN,
  Emulator,
  EntityParseError,
  freePort,
  messageText,
  parseHtml,
  parseMarkdownV2,
  TestChat,
} satisfies Record<keyof typeof Testing, unknown>;
