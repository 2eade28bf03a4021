import type { Writable } from "node:stream";
import { log, spinner } from "@clack/prompts";
import type { Progress } from "./options.js";

/** Progress as plain lines, for logs and pipes (no TTY, or --yes). */
export function plainProgress(out: NodeJS.WritableStream): Progress {
  return {
    step: (message) => out.write(`${message}\n`),
    start: (message) => out.write(`${message}…\n`),
    stop: (message) => out.write(`${message}\n`),
  };
}

/** Progress in clack's frame: finished steps as log lines, long steps with a spinner. */
export function terminalProgress(output: Writable): Progress {
  let running: ReturnType<typeof spinner> | undefined;
  return {
    step: (message) => log.step(message, { output }),
    start: (message) => {
      running = spinner({ output });
      running.start(message);
    },
    stop: (message, ok = true) => {
      if (running === undefined) return;
      if (ok) running.stop(message);
      else running.error(message);
      running = undefined;
    },
  };
}
