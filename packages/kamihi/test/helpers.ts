import { after } from "node:test";
import { fileURLToPath } from "node:url";
import { silentLogger } from "@kamihi/core";
import { createEmulator, type Emulator } from "@kamihi/testing";
import { createBot, type Kamihi } from "../src/index.js";

const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

export const fixture = (name: string) =>
  fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

/** A new bot on the embedded store, talking to `emu`, with fast limits for tests. */
export function testBot(emu: Emulator): Kamihi {
  return createBot().configure({
    logger: silentLogger,
    settings: {
      token: emu.token,
      tg: { apiRoot: emu.apiRoot },
      db: { url: "memory://" },
      limits: { perChatPerSecond: 1000, perGroupPerMinute: 1000, globalPerSecond: 1000 },
    },
  });
}

/** A started bot on a fixture project and a fresh emulator, both stopped after the file. */
export async function startBot(
  name: string,
  setup: (bot: Kamihi) => void = () => {},
): Promise<{ bot: Kamihi; emu: Emulator }> {
  const emu = await createEmulator();
  cleanups.push(() => emu.stop());
  const bot = testBot(emu);
  setup(bot);
  await bot.start({ root: fixture(name) });
  cleanups.push(() => bot.stop());
  return { bot, emu };
}
