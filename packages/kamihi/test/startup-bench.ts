/**
 * Start-up cost of `kamihi run`, run by hand (not part of the test suite):
 *
 *   node test/startup-bench.ts [runs=5] [counts=1,50,500] [warm|cold]
 *
 * For bare Telegraf and for `kamihi run` with 1, 50 and 500 generated TypeScript actions,
 * web admin off and on, it spawns the process against a minimal fake Bot API and reports
 * the time from spawn to the first getUpdates and the RSS after 2 s idle (medians).
 * Needs the built CLI (`pnpm --filter kamihi build`).
 */
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

// Projects live outside this repository, with `kamihi` installed as a link to this package:
// `import "kamihi"` resolves as in a real project. Another build (say, the one before a change)
// is measured by naming its cli.js and a folder whose node_modules/kamihi is that build.
const CLI =
  process.env.KAMIHI_BENCH_CLI ?? fileURLToPath(new URL("../dist/cli.js", import.meta.url));
const TMP = process.env.KAMIHI_BENCH_DIR ?? join(tmpdir(), "kamihi-startup-bench");
if (process.env.KAMIHI_BENCH_DIR === undefined) {
  mkdirSync(join(TMP, "node_modules"), { recursive: true });
  rmSync(join(TMP, "node_modules", "kamihi"), { force: true });
  symlinkSync(fileURLToPath(new URL("..", import.meta.url)), join(TMP, "node_modules", "kamihi"));
}
const TOKEN = "123456:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
const runs = Number(process.argv[2] ?? 5);
const counts = (process.argv[3] ?? "1,50,500").split(",").map(Number);
// `cold`: nothing kept from earlier starts (Node's compile cache and tsx's cache off).
const cold = process.argv[4] === "cold";
const CACHES = cold ? { NODE_DISABLE_COMPILE_CACHE: "1", TSX_DISABLE_CACHE: "1" } : {};

/** A Bot API that answers what start-up asks and records when polling begins. */
function fakeApi(): Promise<{
  url: string;
  firstPoll: Promise<number>;
  stop(): void;
  close(): void;
}> {
  let seen: (at: number) => void = () => {};
  const firstPoll = new Promise<number>((resolve) => {
    seen = resolve;
  });
  const held = new Set<ServerResponse>();
  let stopping = false;
  const empty = (res: ServerResponse) => {
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ ok: true, result: [] }));
  };
  const server: Server = createServer((req, res) => {
    const method = req.url?.split("/").at(-1) ?? "";
    req.resume();
    req.on("end", () => {
      if (method === "getUpdates") {
        seen(performance.now());
        // A long poll that brings nothing until the bot stops (a stopping poller asks once more).
        if (stopping) return empty(res);
        held.add(res);
        res.on("close", () => held.delete(res));
        return;
      }
      const result =
        method === "getMe"
          ? { id: 42, is_bot: true, first_name: "Bench", username: "bench_bot" }
          : true;
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ ok: true, result }));
    });
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
        firstPoll,
        stop: () => {
          stopping = true;
          for (const res of held) empty(res);
        },
        close: () => {
          server.closeAllConnections();
          server.close();
        },
      });
    });
  });
}

function project(count: number): string {
  const root = join(TMP, `actions-${count}`);
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  writeFileSync(join(root, "package.json"), '{ "private": true, "type": "module" }\n');
  for (let i = 0; i < count; i++) {
    const name = `act${i}`;
    mkdirSync(join(root, "actions", name), { recursive: true });
    writeFileSync(
      join(root, "actions", name, `${name}.ts`),
      `import { bot } from "kamihi";

interface Reply {
  text: string;
}

export default bot.action(
  async function ${name}({ args }): Promise<string> {
    const reply: Reply = { text: args === "" ? "${name}" : args };
    return reply.text;
  },
  { description: "Action number ${i}", public: true },
);
`,
    );
  }
  return root;
}

function bareTelegraf(): string[] {
  const file = join(TMP, "bare.mjs");
  mkdirSync(TMP, { recursive: true });
  writeFileSync(
    file,
    `import { Telegraf } from ${JSON.stringify(import.meta.resolve("telegraf"))};
const bot = new Telegraf(process.env.KAMIHI_TOKEN, { telegram: { apiRoot: process.env.KAMIHI_TG__API_ROOT } });
bot.command("start", (ctx) => ctx.reply("hi"));
bot.launch();
process.once("SIGTERM", () => bot.stop("SIGTERM"));
`,
  );
  return [file];
}

/** CPU time (user + system) the process has used so far: less sensitive to a busy machine. */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  // utime and stime are the 14th and 15th fields of the line, in clock ticks (100 per second).
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return Math.round(kb / 1024);
}

/** A port free right now, for the admin (web.port must be 1 to 65535). */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function once(args: string[], env: Record<string, string>) {
  const api = await fakeApi();
  env = { KAMIHI_WEB__PORT: String(await freePort()), ...env };
  const started = performance.now();
  const child = spawn(process.execPath, args, {
    env: { ...process.env, KAMIHI_TOKEN: TOKEN, KAMIHI_TG__API_ROOT: api.url, ...CACHES, ...env },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<never>((_, reject) =>
    child.once("exit", (code) => reject(new Error(`exited ${code}:\n${stderr}`))),
  );
  const polled = await Promise.race([api.firstPoll, exited]);
  const cpu = cpuMs(child.pid as number);
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const rss = rssMb(child.pid as number);
  child.removeAllListeners("exit");
  exited.catch(() => {});
  await new Promise((resolve) => {
    child.once("exit", resolve);
    child.kill("SIGTERM");
    api.stop();
  });
  api.close();
  return { ms: polled - started, cpu, rss };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

async function measure(label: string, args: string[], env: Record<string, string> = {}) {
  const samples = [];
  for (let i = 0; i < runs; i++) {
    samples.push(await once(args, env));
    process.stderr.write(".");
  }
  const ms = median(samples.map((s) => s.ms));
  const rss = median(samples.map((s) => s.rss));
  const cpu = median(samples.map((s) => s.cpu));
  console.log(
    `${label.padEnd(36)} first getUpdates ${ms.toFixed(0).padStart(5)} ms   CPU ${String(cpu).padStart(5)} ms   RSS ${String(rss).padStart(4)} MB   (${samples.map((s) => s.ms.toFixed(0)).join(" ")})`,
  );
  return ms;
}

const bare = await measure("bare Telegraf", bareTelegraf());
for (const count of counts) {
  const root = project(count);
  for (const web of ["false", "true"]) {
    const ms = await measure(
      `kamihi run, ${count} actions, web ${web === "true" ? "on" : "off"}`,
      [CLI, "-C", root, "run"],
      {
        KAMIHI_DB__URL: "memory://",
        KAMIHI_WEB__ENABLED: web,
        KAMIHI_LOG__LEVEL: "warn",
      },
    );
    console.log(`${"".padEnd(36)} = ${(ms / bare).toFixed(1)}× bare Telegraf`);
  }
}
for (const count of counts) rmSync(join(TMP, `actions-${count}`), { recursive: true, force: true });
