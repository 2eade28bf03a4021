import { type LoggedLine, runLoggerConformance } from "@kamihi/core/conformance";
import { createLogger } from "../src/logger.js";

// pino numbers its levels; the suite reads names.
const LEVEL_NAMES: Record<number, string> = {
  10: "trace",
  20: "debug",
  30: "info",
  40: "warn",
  50: "error",
  60: "fatal",
};

runLoggerConformance({
  name: "the default logger (pino)",
  create: () => {
    const lines: LoggedLine[] = [];
    const logger = createLogger(
      { log: { level: "trace", format: "json", file: undefined, notify: undefined } } as never,
      {
        write(chunk: string) {
          const { level, msg, ...fields } = JSON.parse(chunk) as Record<string, unknown>;
          lines.push({
            level: LEVEL_NAMES[level as number] ?? String(level),
            msg: String(msg),
            fields,
          });
        },
      },
    );
    return { logger, lines: () => lines };
  },
});
