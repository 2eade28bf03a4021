/**
 * The Logger conformance suite: what every {@link Logger} given to Kamihi must do, as
 * `node:test` tests. Kamihi runs it against its default (pino) logger; a logger of your own
 * runs it the same way, with a harness that can read back what it wrote:
 *
 * ```ts
 * import { runLoggerConformance } from "@kamihi/core/conformance";
 * runLoggerConformance({ name: "my logger", create: () => myLoggerAndItsLines() });
 * ```
 *
 * @packageDocumentation
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { flushLogger, type Logger } from "./logger.js";

/** One line a logger wrote, read back by the harness. */
export interface LoggedLine {
  /** `trace` … `fatal`. */
  level: string;
  /** The message text. */
  msg: string;
  /** Every field of the line: the bindings of its children and the object passed. */
  fields: Record<string, unknown>;
}

/** A logger at level `trace`, and what it has written so far. */
export interface LoggerHarness {
  logger: Logger;
  /** The lines written so far (after `flush` when the logger buffers). */
  lines(): LoggedLine[] | Promise<LoggedLine[]>;
}

/** Options of {@link runLoggerConformance}. */
export interface LoggerConformanceOptions {
  name: string;
  /** A fresh logger at level `trace`, and a way to read what it wrote. */
  create(): LoggerHarness | Promise<LoggerHarness>;
}

const LEVELS = ["trace", "debug", "info", "warn", "error", "fatal"] as const;

/** Registers the conformance tests for a logger (see the module's example). */
export function runLoggerConformance(options: LoggerConformanceOptions): void {
  const written = async (harness: LoggerHarness) => {
    await flushLogger(harness.logger);
    return harness.lines();
  };

  describe(`Logger conformance: ${options.name}`, () => {
    it("writes a message at every level Kamihi uses", async () => {
      const harness = await options.create();
      for (const level of LEVELS) harness.logger[level](`a ${level} line`);
      const lines = await written(harness);
      assert.deepEqual(
        lines.map((line) => [line.level, line.msg]),
        LEVELS.map((level) => [level, `a ${level} line`]),
      );
    });

    it("takes fields first and the message second, as pino does", async () => {
      const harness = await options.create();
      harness.logger.info({ chatId: 7, action: "start" }, "handled");
      const [line] = await written(harness);
      assert.equal(line?.msg, "handled");
      assert.equal(line?.fields.chatId, 7);
      assert.equal(line?.fields.action, "start");
    });

    it("keeps an error given as `err`, with its message, and does not throw on it", async () => {
      const harness = await options.create();
      const error = new Error("the store is down");
      harness.logger.error({ err: error }, "the action failed");
      const [line] = await written(harness);
      assert.equal(line?.msg, "the action failed");
      const err = line?.fields.err as { message?: unknown } | undefined;
      assert.equal(err?.message, "the store is down", "the error's message is kept");
    });

    it("binds a child's fields to each of its lines, nested, without touching the parent", async () => {
      const harness = await options.create();
      const child = harness.logger.child({ component: "admin" });
      const grandchild = child.child({ userId: 42 });
      grandchild.warn("signed in");
      harness.logger.info("parent line");
      const lines = await written(harness);
      const signed = lines.find((line) => line.msg === "signed in");
      assert.equal(signed?.fields.component, "admin");
      assert.equal(signed?.fields.userId, 42);
      const parent = lines.find((line) => line.msg === "parent line");
      assert.equal(parent?.fields.component, undefined);
      assert.equal(parent?.fields.userId, undefined);
    });

    it("writes out what it holds when flushed (or has nothing to flush)", async () => {
      const harness = await options.create();
      harness.logger.info("before stop");
      const flushed = await Promise.race([
        flushLogger(harness.logger).then(() => true),
        new Promise<false>((resolve) => setImmediate(() => setImmediate(() => resolve(false)))),
      ]);
      // A logger whose flush never calls back would hang every stop of the bot.
      assert.equal(flushed, true, "flush() calls its callback");
      const lines = await harness.lines();
      assert.ok(lines.some((line) => line.msg === "before stop"));
    });
  });
}
