import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import type { FakeBotApi } from "./fake-api.js";
import {
  type ActionSet,
  type Checkout,
  childEnv,
  createProject,
  dbSettings,
  type StoreChoice,
  writeSettings,
} from "./kamihi-project.js";

/** One thing measured: a bare framework, or Kamihi in one configuration. */
export interface Subject {
  id: string;
  label: string;
  framework: "telegraf" | "grammy" | "kamihi";
  /** Kamihi: what `/hello` is (a public string, or a permission-checked template). */
  hello?: "public" | "template";
  /** Kamihi: where the data lives. */
  store?: "memory" | "file" | "mongo";
}

export const TELEGRAF: Subject = {
  id: "telegraf",
  label: "Telegraf (bare)",
  framework: "telegraf",
};
export const GRAMMY: Subject = { id: "grammy", label: "grammY (bare)", framework: "grammy" };
export const KAMIHI_PUBLIC: Subject = {
  id: "kamihi-public",
  label: "Kamihi public (memory://)",
  framework: "kamihi",
  hello: "public",
  store: "memory",
};
export const KAMIHI_TEMPLATE: Subject = {
  id: "kamihi-template",
  label: "Kamihi permission+template (embedded file)",
  framework: "kamihi",
  hello: "template",
  store: "file",
};
export const KAMIHI_PUBLIC_MONGO: Subject = {
  id: "kamihi-public-mongo",
  label: "Kamihi public (MongoDB)",
  framework: "kamihi",
  hello: "public",
  store: "mongo",
};
export const KAMIHI_TEMPLATE_MONGO: Subject = {
  id: "kamihi-template-mongo",
  label: "Kamihi permission+template (MongoDB)",
  framework: "kamihi",
  hello: "template",
  store: "mongo",
};

/** Every subject, in the order of the table. */
export const ALL_SUBJECTS = [
  TELEGRAF,
  GRAMMY,
  KAMIHI_PUBLIC,
  KAMIHI_TEMPLATE,
  KAMIHI_PUBLIC_MONGO,
  KAMIHI_TEMPLATE_MONGO,
];

/** The bench's fake bot token (the fake Bot API accepts only it). */
export const TOKEN = "7000001:BENCHbenchBENCHbenchBENCHbenchBENCH";
export const WEBHOOK_PATH = "/bench/webhook";
export const WEBHOOK_SECRET = "bench-webhook-secret";

/** Outgoing limits high enough never to pace a burst (the pacing scenario keeps the defaults). */
export const RAISED_LIMITS = {
  perChatPerSecond: 1000,
  perGroupPerMinute: 100_000,
  globalPerSecond: 100_000,
};

const SUBJECTS_DIR = fileURLToPath(new URL("../subjects/", import.meta.url));

/** A free TCP port on loopback. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

/** Every subject process not yet exited, so an interrupted bench can stop them. */
const alive = new Set<Running>();

/** Kills every subject still running (the bench was interrupted). */
export function killAll(): void {
  for (const running of alive) running.child.kill("SIGKILL");
}

/** A subject's process. */
export class Running {
  readonly child: ChildProcess;
  readonly startedAt = performance.now();
  output = "";
  private exited: Promise<number | null>;

  constructor(command: string, args: string[], env: NodeJS.ProcessEnv, cwd?: string) {
    this.child = spawn(command, args, {
      env,
      stdio: ["ignore", "pipe", "pipe"],
      ...(cwd === undefined ? {} : { cwd }),
    });
    const keep = (chunk: Buffer) => {
      // The tail is enough to explain a failure.
      this.output = (this.output + chunk.toString()).slice(-20_000);
    };
    this.child.stdout?.on("data", keep);
    this.child.stderr?.on("data", keep);
    alive.add(this);
    this.exited = new Promise((resolve) => {
      this.child.once("exit", (code) => resolve(code));
      this.child.once("error", () => resolve(null));
    });
    void this.exited.then(() => alive.delete(this));
  }

  get pid(): number {
    return this.child.pid as number;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resolves once the output matches `pattern`; rejects if the process exits first. */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = pattern.exec(this.output);
        if (found === null) return false;
        done();
        resolve(found);
        return true;
      };
      const onExit = () => {
        done();
        reject(new Error(`exited before printing ${pattern}: ${explainOutput(this.output)}`));
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no ${pattern} within ${timeoutMs} ms: ${explainOutput(this.output)}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.child.stdout?.off("data", onData);
        this.child.stderr?.off("data", onData);
        this.child.off("exit", onExit);
      };
      const onData = () => {
        check();
      };
      if (check()) return;
      this.child.stdout?.on("data", onData);
      this.child.stderr?.on("data", onData);
      this.child.once("exit", onExit);
    });
  }

  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
  async stop(graceMs = 15_000): Promise<void> {
    if (!this.alive) return;
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

/**
 * `--cpu-prof` for Kamihi subjects when BENCH_CPU_PROF names a folder (`pnpm bench --cpu-prof`):
 * each run leaves a .cpuprofile there when the subject exits.
 */
function profileArgs(subject: Subject): string[] {
  const dir = process.env.BENCH_CPU_PROF;
  if (dir === undefined || dir === "" || subject.framework !== "kamihi") return [];
  return [
    "--cpu-prof",
    `--cpu-prof-dir=${dir}`,
    `--cpu-prof-name=${subject.id}-${Date.now()}.cpuprofile`,
  ];
}

/**
 * What a subject's output says went wrong: the messages of its error log lines (Kamihi logs
 * JSON), else its last lines.
 */
export function explainOutput(output: string): string {
  const errors: string[] = [];
  for (const line of output.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      const entry = JSON.parse(line) as {
        level?: number;
        msg?: string;
        err?: { message?: string };
      };
      if ((entry.level ?? 0) >= 50)
        errors.push([entry.msg, entry.err?.message].filter(Boolean).join(": "));
    } catch {
      // Not a log line.
    }
  }
  if (errors.length > 0) return errors.join("\n");
  return output.trim().split("\n").slice(-12).join("\n");
}

/** How a subject is started for one run. */
export interface LaunchOptions {
  api: FakeBotApi;
  checkout: Checkout;
  mode?: "polling" | "webhook";
  /** `/hello` (default), `/ask`, or this many generated commands (start-up). */
  actions?: "hello" | "ask" | { count: number };
  /** Raised limits (default), or Kamihi's defaults (pacing). */
  limits?: "raised" | "default";
  /** A Kamihi project prepared (and seeded) beforehand; made here when absent. */
  project?: string;
  store?: StoreChoice;
}

/** The project a Kamihi subject runs for these options (seeded by the caller when it must be). */
export function kamihiProject(
  subject: Subject,
  checkout: Checkout,
  actions: LaunchOptions["actions"] = "hello",
): string {
  const set: ActionSet =
    actions === "hello" ? (subject.hello ?? "public") : actions === "ask" ? "ask" : actions;
  return createProject(checkout, set, subject.id);
}

/**
 * Starts a subject against the fake Bot API. Resolves once it is ready for updates: it polls
 * (polling) or has set its webhook (webhook), and Kamihi has said it is running.
 */
export async function launch(subject: Subject, options: LaunchOptions): Promise<Running> {
  const { api } = options;
  const mode = options.mode ?? "polling";
  const port = mode === "webhook" ? await freePort() : 0;
  if (mode === "webhook") api.webhookTarget = `http://127.0.0.1:${port}${WEBHOOK_PATH}`;
  let running: Running;
  if (subject.framework === "kamihi") {
    const root = options.project ?? kamihiProject(subject, options.checkout, options.actions);
    writeSettings(root, {
      token: TOKEN,
      db: dbSettings(options.store ?? { kind: subject.store === "file" ? "file" : "memory" }),
      tg: {
        apiRoot: api.url,
        mode,
        ...(mode === "webhook"
          ? {
              webhook: {
                url: `https://bench.invalid${WEBHOOK_PATH}`,
                path: WEBHOOK_PATH,
                host: "127.0.0.1",
                port,
                secretToken: WEBHOOK_SECRET,
              },
            }
          : {}),
      },
      web: { enabled: false },
      log: { level: "warn", format: "json" },
      ...(options.limits === "default" ? {} : { limits: RAISED_LIMITS }),
    });
    running = new Running(
      process.execPath,
      [...profileArgs(subject), options.checkout.cli, "-C", root, "run"],
      childEnv(),
      root,
    );
  } else {
    const extra = typeof options.actions === "object" ? options.actions.count : 0;
    running = new Running(
      process.execPath,
      [`${SUBJECTS_DIR}${subject.framework}.mjs`],
      childEnv({
        BENCH_TOKEN: TOKEN,
        BENCH_API_ROOT: api.url,
        BENCH_MODE: mode,
        BENCH_COMMANDS: String(extra),
        BENCH_WEBHOOK_PORT: String(port),
        BENCH_WEBHOOK_PATH: WEBHOOK_PATH,
        BENCH_WEBHOOK_SECRET: WEBHOOK_SECRET,
      }),
    );
  }
  try {
    const exited = new Promise<never>((_, reject) => {
      running.child.once("exit", (code) =>
        reject(
          new Error(
            `${subject.label} exited (${code}) during start: ${explainOutput(running.output)}`,
          ),
        ),
      );
    });
    exited.catch(() => {});
    const ready =
      mode === "webhook"
        ? api.until(
            () => api.webhookSetAt !== undefined,
            120_000,
            `${subject.label} to set its webhook`,
          )
        : api.until(() => api.firstPollAt !== undefined, 120_000, `${subject.label} to poll`);
    await Promise.race([ready, exited]);
    if (subject.framework === "kamihi") {
      await Promise.race([running.waitFor(/is running/, 60_000), exited]);
    }
    return running;
  } catch (error) {
    await running.stop(2000);
    throw error;
  }
}
