import { after } from "node:test";
import { fileURLToPath } from "node:url";
import { type Logger, silentLogger } from "@kamihi/core";
import { createEmulator, type Emulator, type EmulatorOptions } from "@kamihi/testing";
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
      // Anyone who writes becomes a user (with no permissions: fixtures' actions are public).
      users: { registration: "open" },
      limits: { perChatPerSecond: 1000, perGroupPerMinute: 1000, globalPerSecond: 1000 },
    },
  });
}

/** A started bot on a fixture project and a fresh emulator, both stopped after the file. */
export async function startBot(
  name: string,
  setup: (bot: Kamihi) => void = () => {},
  emulator: EmulatorOptions = {},
): Promise<{ bot: Kamihi; emu: Emulator }> {
  const emu = await createEmulator(emulator);
  cleanups.push(() => emu.stop());
  const bot = testBot(emu);
  setup(bot);
  await bot.start({ root: fixture(name) });
  cleanups.push(() => bot.stop());
  return { bot, emu };
}

/** One line a {@link LogCapture} recorded. */
export interface LogEntry {
  level: string;
  msg: string;
  fields: Record<string, unknown>;
}

/** A logger that keeps every line, and lets a test wait for one (no sleeps). */
export class LogCapture {
  readonly entries: LogEntry[] = [];
  private readonly waiters = new Set<() => void>();

  logger(bindings: Record<string, unknown> = {}): Logger {
    const write =
      (level: string) =>
      (first: unknown, second?: unknown): void => {
        const fields =
          typeof first === "object" && first !== null ? (first as Record<string, unknown>) : {};
        const msg = typeof first === "string" ? first : typeof second === "string" ? second : "";
        this.entries.push({ level, msg, fields: { ...bindings, ...fields } });
        for (const wake of this.waiters) wake();
      };
    return {
      trace: write("trace"),
      debug: write("debug"),
      info: write("info"),
      warn: write("warn"),
      error: write("error"),
      fatal: write("fatal"),
      child: (more) => this.logger({ ...bindings, ...more }),
    };
  }

  /** Resolves once `count` entries pass `check`; rejects with what was logged after `timeout`. */
  until(check: (entry: LogEntry) => boolean, count = 1, timeout = 5000): Promise<LogEntry[]> {
    const matching = () => this.entries.filter(check);
    if (matching().length >= count) return Promise.resolve(matching());
    return new Promise((resolve, reject) => {
      const wake = () => {
        if (matching().length < count) return;
        done();
        resolve(matching());
      };
      const timer = setTimeout(() => {
        done();
        reject(
          new Error(
            `${matching().length} of ${count} expected log lines after ${timeout} ms; logged: ${this.entries
              .slice(-10)
              .map((e) => e.msg)
              .join(" | ")}`,
          ),
        );
      }, timeout);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(wake);
      };
      this.waiters.add(wake);
    });
  }
}
