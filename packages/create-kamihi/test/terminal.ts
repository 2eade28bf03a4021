import { type ChildProcessWithoutNullStreams, execFileSync, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

/** Keys as a terminal sends them. */
export const keys = {
  enter: "\r",
  down: "\u001b[B",
  backspace: "\u007f",
  ctrlC: "\u0003",
} as const;

const cli = fileURLToPath(new URL("../src/cli.ts", import.meta.url));
const tsx = import.meta.resolve("tsx");

/** Whether util-linux `script` is here to give the command a pseudo-terminal. */
export function hasScript(): boolean {
  try {
    return execFileSync("script", ["--version"], { encoding: "utf8" }).includes("util-linux");
  } catch {
    return false;
  }
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: escape sequences are the point
const ANSI = /\u001b\[[0-9;?]*[A-Za-z]|\u001b\][^\u0007]*\u0007/g;

/**
 * `create-kamihi` in a pseudo-terminal (util-linux `script`), driven like a person would:
 * wait until a prompt shows, then type. No fixed delays: every wait is for text on screen.
 */
export class Terminal {
  readonly exited: Promise<number>;
  private readonly child: ChildProcessWithoutNullStreams;
  private raw = "";
  /** Where the next wait starts looking, so the same text shown twice is seen twice. */
  private seen = 0;
  private readonly listeners = new Set<() => void>();

  constructor(args: readonly string[], options: { cwd: string; env?: NodeJS.ProcessEnv }) {
    // A pseudo-terminal made by `script` from a pipe has no size; clack needs columns.
    const command = [
      "stty cols 120 rows 50;",
      "exec",
      ...[process.execPath, "--import", tsx, cli, ...args].map(shellQuote),
    ].join(" ");
    this.child = spawn("script", ["-qfec", command, "/dev/null"], {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
    });
    const collect = (chunk: Buffer) => {
      this.raw += chunk.toString("utf8");
      for (const listener of this.listeners) listener();
    };
    this.child.stdout.on("data", collect);
    this.child.stderr.on("data", collect);
    this.exited = new Promise((resolve) => {
      this.child.on("close", (code) => resolve(code ?? -1));
    });
  }

  /** Everything shown so far, without colors and cursor moves. */
  get screen(): string {
    return this.raw.replace(ANSI, "");
  }

  /** Resolves once `text` appears after what earlier waits saw; rejects with the screen after `timeout` ms. */
  waitFor(text: string, timeout = 15_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const at = this.screen.indexOf(text, this.seen);
        if (at === -1) return false;
        this.seen = at + text.length;
        this.listeners.delete(listener);
        clearTimeout(timer);
        resolve();
        return true;
      };
      const listener = () => void check();
      const timer = setTimeout(() => {
        this.listeners.delete(listener);
        reject(new Error(`"${text}" did not show within ${timeout} ms. Screen:\n${this.screen}`));
      }, timeout);
      this.listeners.add(listener);
      check();
    });
  }

  /** Waits for `prompt`, then types `input`. */
  async answer(prompt: string, input: string): Promise<void> {
    await this.waitFor(prompt);
    this.child.stdin.write(input);
  }

  kill(): void {
    this.child.kill();
  }
}

function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`;
}
