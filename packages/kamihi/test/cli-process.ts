import { type ChildProcess, execFile, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

/** The built `kamihi` command. */
export const CLI = fileURLToPath(new URL("../dist/cli.js", import.meta.url));
/** Projects for the CLI go here: inside this package, so their `import "kamihi"` resolves to it. */
export const TMP = fileURLToPath(new URL("./.tmp/", import.meta.url));

/** A long-running `kamihi` (run, dev) whose output can be awaited line by line. */
export class Running {
  readonly child: ChildProcess;
  out = "";
  private readonly waiters = new Set<() => void>();

  constructor(root: string, args: string[], env: Record<string, string>) {
    this.child = spawn(process.execPath, [CLI, "-C", root, ...args], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const collect = (chunk: Buffer) => {
      this.out += chunk.toString();
      for (const wake of this.waiters) wake();
    };
    this.child.stdout?.on("data", collect);
    this.child.stderr?.on("data", collect);
  }

  /** Waits until the output has matched `pattern` `count` times. */
  until(pattern: RegExp, count = 1, timeout = 30_000): Promise<void> {
    const seen = () => this.out.match(new RegExp(pattern.source, "g"))?.length ?? 0;
    if (seen() >= count) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(wake);
        reject(new Error(`no ${pattern} (×${count}) within ${timeout} ms; output:\n${this.out}`));
      }, timeout);
      const wake = () => {
        if (seen() < count) return;
        clearTimeout(timer);
        this.waiters.delete(wake);
        resolve();
      };
      this.waiters.add(wake);
    });
  }

  /** Sends SIGTERM and resolves with the exit code (at once if it has exited already). */
  stop(): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) {
      return Promise.resolve(this.child.exitCode);
    }
    return new Promise((resolve) => {
      this.child.once("exit", (code) => resolve(code));
      this.child.kill("SIGTERM");
    });
  }
}

/** What one finished `kamihi` command did. */
export interface Finished {
  code: number;
  stdout: string;
  stderr: string;
  /** How long it ran. */
  ms: number;
}

/** Runs the built `kamihi` command on the project in `root` in another process, to its end. */
export function runKamihi(
  root: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<Finished> {
  const started = Date.now();
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, "-C", root, ...args],
      { env: { ...process.env, ...env }, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : 1;
        resolve({ code, stdout, stderr, ms: Date.now() - started });
      },
    );
  });
}
