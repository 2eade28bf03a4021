import type { BotInfo, Update, UpdateContext } from "@kamihi/core";
import { Context, type Telegraf } from "telegraf";
import type { Call } from "./call.js";

/** The bot's identity, asked once, and the Telegraf context built with it. */
export interface Identity {
  /** `getMe`, asked of Telegram once and remembered; a failed ask is asked again next time. */
  getMe(): Promise<BotInfo>;
  /** The Telegraf context of an update: the escape hatch handed over with it. */
  contextFor(update: Update): UpdateContext<Context>;
}

/**
 * Asks Telegram who the bot is once, and gives Telegraf the answer: its contexts read the
 * bot's username from it (`ctx.me`, commands addressed to `@thebot`).
 */
export function createIdentity(bot: Telegraf, call: Call): Identity {
  let asking: Promise<BotInfo> | undefined;

  async function ask(): Promise<BotInfo> {
    const info = await call<{ id: number; username?: string; first_name: string }>("getMe", {});
    bot.botInfo = { ...info, is_bot: true } as typeof bot.botInfo;
    return { id: info.id, username: info.username ?? "", firstName: info.first_name };
  }

  return {
    getMe() {
      // Callers at the same moment share one call; a failure is not remembered.
      asking ??= ask().catch((error: unknown) => {
        asking = undefined;
        throw error;
      });
      return asking;
    },
    contextFor(update) {
      return {
        raw: new Context(update, bot.telegram, bot.botInfo as NonNullable<typeof bot.botInfo>),
      };
    },
  };
}
