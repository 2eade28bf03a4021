import { type LoggedLine, runLoggerConformance } from "../src/conformance.js";
import type { LogFn, Logger } from "../src/index.js";

/** A logger written here that keeps its lines: the suite must pass on any honest logger. */
function memoryLogger(lines: LoggedLine[], bindings: Record<string, unknown> = {}): Logger {
  const write =
    (level: string): LogFn =>
    (first: unknown, second?: unknown) => {
      const fields = typeof first === "object" && first !== null ? { ...first } : {};
      const msg = typeof first === "string" ? first : String(second ?? "");
      lines.push({ level, msg, fields: { ...bindings, ...fields } });
    };
  return {
    trace: write("trace"),
    debug: write("debug"),
    info: write("info"),
    warn: write("warn"),
    error: write("error"),
    fatal: write("fatal"),
    child: (more) => memoryLogger(lines, { ...bindings, ...more }),
  };
}

runLoggerConformance({
  name: "a logger kept in memory",
  create: () => {
    const lines: LoggedLine[] = [];
    return { logger: memoryLogger(lines), lines: () => lines };
  },
});
