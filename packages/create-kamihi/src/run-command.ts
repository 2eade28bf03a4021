import { spawn } from "node:child_process";

/** How a command ended. */
export type CommandOutcome =
  /** It ran and exited (`code` 0 is success); `output` is stdout and stderr interleaved. */
  | { kind: "exited"; code: number; output: string }
  /** It could not start: `ENOENT` when it is not installed (not on PATH). */
  | { kind: "not-started"; errorCode: string; message: string }
  /** A signal ended it. */
  | { kind: "killed"; signal: string; output: string };

/** Output kept from a command: enough to show why it failed, bounded for huge installs. */
const MAX_OUTPUT = 64 * 1024;

/**
 * Runs a command in `cwd` with the inherited environment, capturing its output instead of
 * printing it (a spinner may own the terminal). Never rejects: the outcome says what happened.
 */
export function runCommand(
  command: string,
  args: readonly string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv },
): Promise<CommandOutcome> {
  return new Promise((resolve) => {
    let output = "";
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString("utf8")).slice(-MAX_OUTPUT);
    };
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(command, args, {
        cwd: options.cwd,
        env: options.env ?? process.env,
        stdio: ["ignore", "pipe", "pipe"],
        // Package managers are .cmd scripts on Windows, which only a shell can start.
        shell: process.platform === "win32",
      });
    } catch (error) {
      resolve(notStarted(error));
      return;
    }
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    child.on("error", (error) => resolve(notStarted(error)));
    child.on("close", (code, signal) => {
      if (signal !== null) resolve({ kind: "killed", signal, output });
      else resolve({ kind: "exited", code: code ?? 1, output });
    });
  });
}

function notStarted(error: unknown): CommandOutcome {
  const errorCode =
    typeof error === "object" && error !== null && "code" in error
      ? String((error as { code: unknown }).code)
      : "UNKNOWN";
  const message = error instanceof Error ? error.message : String(error);
  return { kind: "not-started", errorCode, message };
}
