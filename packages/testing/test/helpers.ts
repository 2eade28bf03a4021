import { after } from "node:test";
import { Telegraf } from "telegraf";
import { createEmulator, type Emulator, type EmulatorOptions } from "../src/index.js";

const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** A started emulator, stopped after the file's tests. */
export async function emulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const started = await createEmulator(options);
  cleanups.push(() => started.stop());
  return started;
}

/** A real Telegraf bot pointed at the emulator, polling until the tests end. */
export async function pollingBot(emu: Emulator, setup: (bot: Telegraf) => void): Promise<Telegraf> {
  const bot = new Telegraf(emu.token, { telegram: { apiRoot: emu.apiRoot } });
  setup(bot);
  await new Promise<void>((resolve, reject) => {
    bot.launch(() => resolve()).catch(reject);
  });
  cleanups.push(() => bot.stop("test over"));
  return bot;
}
