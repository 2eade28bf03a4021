import { createRequire } from "node:module";
import type { Logger, Settings } from "@kamihi/core";
import { type DestinationStream, pino } from "pino";

/**
 * The default logger: JSON lines, or readable lines on a terminal (`log.format: auto`, the
 * default) or when asked (`pretty`).
 */
export function createLogger(
  settings: Pick<Settings, "log">,
  /** Where JSON lines go; default: standard output, written at once. */
  destination?: DestinationStream,
): Logger {
  const options = { level: settings.log.level, base: { app: "kamihi" } };
  const pretty =
    settings.log.format === "pretty" ||
    (settings.log.format === "auto" && process.stdout.isTTY === true);
  // Written at once: a line is never lost when the process exits or dies, and never lands
  // after what the CLI prints next ("Stopped."). A bot logs little enough for that.
  if (destination !== undefined) return pino(options, destination) as unknown as Logger;
  if (!pretty) return pino(options, pino.destination({ dest: 1, sync: true })) as unknown as Logger;
  // Loaded only for readable logs: JSON lines do without it.
  const { build: pinoPretty } = createRequire(import.meta.url)(
    "pino-pretty",
  ) as typeof import("pino-pretty");
  const stream = pinoPretty({
    colorize: process.stdout.isTTY === true,
    ignore: "pid,hostname,app",
    translateTime: "HH:MM:ss.l",
    sync: true,
  });
  return pino(options, stream) as unknown as Logger;
}
