/**
 * Kamihi: a batteries-included framework for Telegram bots. Write actions; Kamihi does the rest.
 *
 * ```ts
 * import { bot, md } from "kamihi";
 *
 * export default bot.action(async function start({ user }) {
 *   return md`Hello **${user.firstName}**!`; // values are escaped: names never become formatting
 * }, { description: "Say hello" });
 * ```
 *
 * @packageDocumentation
 */

import { Kamihi } from "./bot.js";

const SINGLETON = Symbol.for("kamihi.bot");

/**
 * The bot of this process. Shared by every copy of the package that is loaded, so actions
 * always register on the bot that starts.
 */
const shared = globalThis as typeof globalThis & { [SINGLETON]?: Kamihi };
shared[SINGLETON] ??= new Kamihi();
export const bot: Kamihi = shared[SINGLETON];

export { createBot, isKamihiError, Kamihi } from "./bot.js";
export { parseCommand } from "./pipeline/index.js";
export type { LoadedProject, StartOptions } from "./bot.js";
export type {
  BotParts,
  Part,
  PortDeps,
  TemplatesDeps,
  UserSchema,
  UsersDeps,
} from "./compose.js";
export { defaultPorts } from "./compose.js";
export type { ActionHandler, ActionOptions, ActionResult } from "./actions.js";
export type { ActionContext, ActionUser, UserData } from "./context.js";
export { renderResponse } from "./responses.js";
export { q } from "./questions.js";
export type {
  Answers,
  FileAnswer,
  Question,
  Questions,
  QuestionType,
  Validator,
} from "./questions.js";
export { escapeMarkdown, md } from "./md.js";
export type { FileSource, MediaOptions } from "./responses.js";
export { KamihiError } from "@kamihi/core";
/** Hashes a password for `web.passwordHash` (admin password sign-in). */
export { hashPassword } from "./hash-password.js";
/** valibot, for the project's user schema (`models/user.ts`) and question validators. */
export * as v from "valibot";
