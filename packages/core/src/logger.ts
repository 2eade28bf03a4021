/**
 * A pino-style log method: `log.info("text")`, `log.info({ chatId }, "text")`.
 */
export interface LogFn {
  (message: string, ...args: unknown[]): void;
  (bindings: object, message?: string, ...args: unknown[]): void;
}

/** Log levels, lowest first, as pino names them. */
export type LogLevel = "trace" | "debug" | "info" | "warn" | "error" | "fatal" | "silent";

/**
 * The logger every Kamihi package writes to. A pino logger fits as it is; so does anything
 * with the same methods.
 */
export interface Logger {
  trace: LogFn;
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  fatal: LogFn;
  /** A logger that adds `bindings` to every line it writes. */
  child(bindings: Record<string, unknown>): Logger;
  /**
   * Writes out what the logger still holds, then calls `callback` (pino buffers its output).
   * Optional: a logger without it is taken to write at once.
   */
  flush?(callback?: (error?: Error) => void): void;
}

/** Resolves once `log` has written out what it holds; never rejects. */
export function flushLogger(log: Logger): Promise<void> {
  return new Promise((resolve) => {
    if (log.flush === undefined) return resolve();
    try {
      log.flush(() => resolve());
    } catch {
      resolve();
    }
  });
}

const ignore: LogFn = () => {};

/** A logger that drops everything: the default for à-la-carte use and quiet tests. */
export const silentLogger: Logger = {
  trace: ignore,
  debug: ignore,
  info: ignore,
  warn: ignore,
  error: ignore,
  fatal: ignore,
  child: () => silentLogger,
};
