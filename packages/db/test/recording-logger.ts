import type { LogFn, Logger } from "@kamihi/core";

type Level = "trace" | "debug" | "info" | "warn" | "error" | "fatal";

/** A logger for tests: keeps every line as `level: message`, and waits for the next ones. */
export interface RecordingLogger extends Logger {
  readonly lines: string[];
  /**
   * The message of the next line at `level` not returned before (it may be logged already);
   * rejects after `timeoutMs`.
   */
  next(level: Level, timeoutMs?: number): Promise<string>;
}

export function recordingLogger(): RecordingLogger {
  const lines: string[] = [];
  const taken = new Map<Level, number>();
  const waiters = new Set<() => void>();
  const write =
    (level: Level): LogFn =>
    (first: unknown, second?: unknown) => {
      const text = typeof first === "string" ? first : typeof second === "string" ? second : "";
      lines.push(`${level}: ${text}`);
      for (const wake of [...waiters]) wake();
    };
  const logger: RecordingLogger = {
    lines,
    trace: write("trace"),
    debug: write("debug"),
    info: write("info"),
    warn: write("warn"),
    error: write("error"),
    fatal: write("fatal"),
    child: () => logger,
    next(level, timeoutMs = 5_000) {
      const prefix = `${level}: `;
      const find = () => {
        const at = lines.filter((line) => line.startsWith(prefix));
        const index = taken.get(level) ?? 0;
        const line = at[index];
        if (line === undefined) return undefined;
        taken.set(level, index + 1);
        return line.slice(prefix.length);
      };
      const found = find();
      if (found !== undefined) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(wake);
          reject(new Error(`no ${level} line within ${timeoutMs} ms; lines:\n${lines.join("\n")}`));
        }, timeoutMs);
        const wake = () => {
          const line = find();
          if (line === undefined) return;
          clearTimeout(timer);
          waiters.delete(wake);
          resolve(line);
        };
        waiters.add(wake);
      });
    },
  };
  return logger;
}
