import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { silentLogger } from "@kamihi/core";
import { createMongoStore } from "@kamihi/db";
import { requiredMongoUrl, uniqueDbName } from "@kamihi/db/conformance";
import {
  createEmulator,
  type Emulator,
  freePort,
  messageText,
  type TestChat,
} from "@kamihi/testing";
import { Running, runKamihi, TMP } from "./cli-process.js";
import { fixture } from "./helpers.js";

// The delivery guarantees against real processes: SIGKILL, two pollers, a revoked token,
// SIGTERM with an action that never ends, and a burst on a real MongoDB-compatible server.

const FAST =
  "limits:\n  perChatPerSecond: 1000\n  perGroupPerMinute: 100000\n  globalPerSecond: 100000\n";

/** A project with the delivery fixture's actions (or `actions`) and this kamihi.yaml. */
function project(yaml: string, actions = "delivery"): string {
  mkdirSync(TMP, { recursive: true });
  const root = mkdtempSync(join(TMP, "delivery-"));
  cpSync(join(fixture(actions), "actions"), join(root, "actions"), { recursive: true });
  writeFileSync(join(root, "kamihi.yaml"), yaml);
  return root;
}
after(() => rmSync(TMP, { recursive: true, force: true }));

function env(emu: Emulator): Record<string, string> {
  return {
    KAMIHI_TOKEN: emu.token,
    KAMIHI_TG__API_ROOT: emu.apiRoot,
    KAMIHI_WEB__ENABLED: "false",
  };
}

/** Resolves once `check()` holds, re-checked when the bot changes a chat or confirms updates. */
function whenever(emu: Emulator, check: () => boolean, timeout = 120_000): Promise<void> {
  const events = ["event", "pending"];
  return new Promise((resolve, reject) => {
    const stop = () => {
      clearTimeout(timer);
      for (const event of events) emu.events.off(event, test);
    };
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`not within ${timeout} ms`));
    }, timeout);
    const test = () => {
      if (!check()) return;
      stop();
      resolve();
    };
    for (const event of events) emu.events.on(event, test);
    test();
  });
}

/** The `/count <arg>` answers a chat got, by argument. */
function answers(chat: TestChat): string[] {
  return chat
    .replies()
    .map((m) => /^count \d+ (\S+)$/.exec(messageText(m))?.[1])
    .filter((arg): arg is string => arg !== undefined);
}

describe("a crash loses nothing", { timeout: 180_000 }, () => {
  it("SIGKILL in the middle of 300 updates: after a restart, every one is answered", async (t) => {
    const emu = await createEmulator();
    const root = project(
      `db:\n  url: "memory://?file=.kamihi/data.json"\nusers:\n  registration: open\nupdates:\n  leaseSeconds: 2\nlog:\n  level: warn\n${FAST}`,
    );
    // Slow answers, so that many updates are in flight when the process dies.
    const slow = emu.inject({ method: "sendMessage", kind: "slow", delayMs: 150 });
    let bot = new Running(root, ["run"], env(emu));
    try {
      await bot.until(/is running/);
      const chats = Array.from({ length: 10 }, () => emu.chat());
      for (let i = 0; i < 30; i++) {
        for (const [c, chat] of chats.entries()) await chat.command("count", `${c}-${i}`);
      }
      const total = () => chats.reduce((n, chat) => n + answers(chat).length, 0);
      await whenever(emu, () => total() >= 60);
      bot.child.kill("SIGKILL");
      await new Promise((resolve) => bot.child.once("exit", resolve));
      const beforeKill = total();
      slow();
      bot = new Running(root, ["run"], env(emu));
      await bot.until(/is running/);
      const expected = (c: number) => Array.from({ length: 30 }, (_, i) => `${c}-${i}`);
      const missing = () =>
        chats.flatMap((chat, c) => expected(c).filter((arg) => !answers(chat).includes(arg)));
      await whenever(emu, () => missing().length === 0);
      const duplicated = chats.reduce(
        (n, chat) => n + answers(chat).length - new Set(answers(chat)).size,
        0,
      );
      t.diagnostic(
        `answered before the kill: ${beforeKill}; lost: ${missing().length}; answered twice: ${duplicated}`,
      );
      assert.deepEqual(missing(), []);
      // Only what was in flight at the kill may have run twice.
      assert.ok(duplicated <= 100, `${duplicated} answered twice`);
      // A chat's answers stay in the order its updates came in.
      for (const [c, chat] of chats.entries()) {
        const seen = [...new Set(answers(chat))].map((arg) => Number(arg.split("-")[1]));
        assert.deepEqual(
          seen,
          [...seen].sort((a, b) => a - b),
          `chat ${c} out of order: ${answers(chat).join(" ")}`,
        );
      }
    } finally {
      slow();
      await bot.stop();
      await emu.stop();
    }
  });
});

describe("two instances with one token", { timeout: 120_000 }, () => {
  it("the first warns that another one polls, keeps going, and takes over when it stops", async () => {
    const emu = await createEmulator();
    const yaml = `db:\n  url: "memory://"\nusers:\n  registration: open\n${FAST}`;
    const first = new Running(project(yaml), ["run"], env(emu));
    await first.until(/is running/);
    const second = new Running(project(yaml), ["run"], env(emu));
    const outputs = () => `first:\n${first.out}\nsecond:\n${second.out}`;
    try {
      await second.until(/is running/);
      const warning = /another instance is receiving updates with this bot token/;
      await Promise.any([first.until(warning, 1, 60_000), second.until(warning, 1, 60_000)]).catch(
        () => assert.fail(`no warning about the other instance:\n${outputs()}`),
      );
      assert.equal(await second.stop(), 0, outputs());
      const chat = emu.chat();
      await chat.command("count", "after");
      await chat.expectReply("count 1 after", { timeout: 60_000 }).catch(() => {
        assert.fail(`the first instance did not answer after the second stopped:\n${outputs()}`);
      });
      assert.equal(first.child.exitCode, null, "the first one is still running");
    } finally {
      await second.stop();
      assert.equal(await first.stop(), 0, outputs());
      await emu.stop();
    }
  });
});

describe("a revoked token", { timeout: 60_000 }, () => {
  it("makes `kamihi run` exit 1, saying why, so a supervisor notices", async () => {
    const emu = await createEmulator();
    const bot = new Running(project(`db:\n  url: "memory://"\n`), ["run"], env(emu));
    await bot.until(/is running/);
    const exited = new Promise<number | null>((resolve) => bot.child.once("exit", resolve));
    emu.revoke();
    assert.equal(await exited, 1, bot.out);
    assert.match(bot.out, /error: The Bot API refused the bot token/);
    await emu.stop();
  });
});

describe("SIGTERM with an action that never ends", { timeout: 60_000 }, () => {
  it("stops within updates.drainSeconds, exits 0 and keeps the unfinished update for the next start", async () => {
    const emu = await createEmulator();
    const root = project(
      `db:\n  url: "memory://?file=.kamihi/data.json"\nupdates:\n  drainSeconds: 1\nactions:\n  timeoutSeconds: 600\nlog:\n  level: warn\n`,
    );
    const bot = new Running(root, ["run"], env(emu));
    await bot.until(/is running/);
    const chat = emu.chat();
    await chat.command("hang");
    await bot.until(/hanging forever/);
    const started = Date.now();
    assert.equal(await bot.stop(), 0, bot.out);
    const took = Date.now() - started;
    assert.match(bot.out, /Stopped\.\n/);
    assert.match(bot.out, /still in progress at the stop deadline/);
    // The store was closed and written: the update waits there for the next start.
    const data = readFileSync(join(root, ".kamihi/data.json"), "utf8");
    assert.match(data, /"kamihi_updates"/);
    assert.match(data, /hang/);
    assert.ok(took < 10_000, `stopping took ${took} ms`);
    await emu.stop();
  });
});

const mongo = requiredMongoUrl();

describe("a burst on a MongoDB-compatible server", {
  skip: mongo.skip ?? false,
  timeout: 600_000,
}, () => {
  it("answers 5,000 of 5,000 updates of a permission-checked action, each once, with memory bounded", async (t) => {
    const emu = await createEmulator();
    const name = uniqueDbName("kamihi_burst");
    const root = project(
      `db:\n  url: "${mongo.url}"\n  name: ${name}\nusers:\n  registration: open\n  defaultRoles: [staff]\nlog:\n  level: warn\n${FAST}`,
      "burst",
    );
    const setup = [
      ["role", "add", "staff"],
      ["permission", "add", "work", "--role", "staff"],
    ];
    for (const args of setup) {
      const done = await runKamihi(root, args, env(emu));
      assert.equal(done.code, 0, done.stderr);
    }
    const bot = new Running(root, ["run"], env(emu));
    try {
      await bot.until(/is running/);
      const chats = Array.from({ length: 100 }, () => emu.chat());
      for (let i = 0; i < 50; i++) {
        for (const chat of chats) await chat.command("work", String(i));
      }
      const done = (chat: TestChat) =>
        chat.replies().filter((m) => /^done \d+$/.test(messageText(m))).length;
      let rss = 0;
      const pid = bot.child.pid as number;
      const sample = setInterval(() => {
        const status = readFileSync(`/proc/${pid}/status`, "utf8");
        const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
        rss = Math.max(rss, kb * 1024);
      }, 250);
      const started = Date.now();
      await whenever(emu, () => chats.reduce((n, chat) => n + done(chat), 0) >= 5000, 540_000);
      clearInterval(sample);
      const seconds = (Date.now() - started) / 1000;
      t.diagnostic(
        `5,000 answered in ${seconds.toFixed(0)} s (${(5000 / seconds).toFixed(0)}/s); the bot's RSS peaked at ${(rss / 1e6).toFixed(0)} MB`,
      );
      for (const chat of chats) {
        const texts = chat.replies().map((m) => messageText(m));
        assert.deepEqual(
          texts,
          Array.from({ length: 50 }, (_, i) => `done ${i}`),
          "every update answered once, in order, and nothing else",
        );
      }
      // Updates in flight are bounded (updates.maxInFlight), so memory is too.
      assert.ok(rss < 400e6, `RSS peaked at ${(rss / 1e6).toFixed(0)} MB`);
    } finally {
      await bot.stop();
      await emu.stop();
    }
  });
});

/** A FerretDB of its own on a fixed port and data folder, so it can be stopped and started again. */
class OwnFerretDb {
  private child: ChildProcess | undefined;
  readonly url: string;
  private readonly binary: string;
  private readonly folder: string;
  private readonly port: number;

  constructor(port: number) {
    const script = fileURLToPath(new URL("../../../scripts/mongo-test-server", import.meta.url));
    // Built once per machine and cached (CI builds it before the tests).
    this.binary = execFileSync("bash", [script, "build"], { encoding: "utf8" }).trim();
    mkdirSync(TMP, { recursive: true });
    this.folder = mkdtempSync(join(TMP, "ferretdb-"));
    this.port = port;
    this.url = `mongodb://127.0.0.1:${port}/`;
  }

  async start(): Promise<void> {
    mkdirSync(join(this.folder, "data"), { recursive: true });
    mkdirSync(join(this.folder, "state"), { recursive: true });
    this.child = spawn(
      this.binary,
      [
        "--handler=sqlite",
        `--sqlite-url=file:${join(this.folder, "data")}/`,
        `--listen-addr=127.0.0.1:${this.port}`,
        "--debug-addr=127.0.0.1:0",
        "--telemetry=disable",
        `--state-dir=${join(this.folder, "state")}`,
        "--log-level=error",
      ],
      { stdio: "ignore" },
    );
    // Ready once it answers a ping.
    const store = createMongoStore({
      url: this.url,
      dbName: "ping",
      connectTimeoutMs: 30_000,
      logger: silentLogger,
    });
    await store.connect();
    await store.close();
  }

  /** Kills the server: the bot sees it vanish. */
  async kill(): Promise<void> {
    const child = this.child;
    if (child === undefined || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;
  }
}

describe("the store goes down and comes back (FerretDB)", {
  skip: mongo.skip ?? false,
  timeout: 180_000,
}, () => {
  it("answers nobody with an error, serves known users meanwhile, and handles all 22 updates once it is back", async (t) => {
    const server = new OwnFerretDb(await freePort());
    await server.start();
    const emu = await createEmulator();
    const root = project(
      `db:\n  url: "${server.url}"\n  name: outage\nusers:\n  registration: open\nlog:\n  level: warn\n${FAST}`,
    );
    const bot = new Running(root, ["run"], env(emu));
    try {
      await bot.until(/is running/);
      // Eleven users the bot knows (in its cache), eleven it has never seen.
      const known = Array.from({ length: 11 }, () => emu.chat());
      for (const chat of known) {
        await chat.command("count", "before");
        await chat.expectReply("count 1 before");
      }
      const strangers = Array.from({ length: 11 }, () => emu.chat());
      await server.kill();
      for (const chat of [...known, ...strangers]) await chat.command("count", "during");
      // The known users' action needs no store: answered while it is down.
      for (const chat of known) await chat.expectReply("count 2 during", { timeout: 60_000 });
      const pendingWhileDown = emu.pendingUpdates;
      await server.start();
      for (const chat of strangers) await chat.expectReply("count 1 during", { timeout: 90_000 });
      await whenever(emu, () => emu.pendingUpdates === 0);
      t.diagnostic(`updates still with Telegram while the store was down: ${pendingWhileDown}`);
      assert.ok(pendingWhileDown > 0, "nothing was confirmed to Telegram while the store was down");
      for (const chat of [...known, ...strangers]) {
        const texts = chat.replies().map((m) => messageText(m));
        assert.ok(!texts.some((text) => /Something went wrong/.test(text)), texts.join(" | "));
      }
      for (const chat of known) assert.deepEqual(answers(chat), ["before", "during"]);
      for (const chat of strangers) assert.deepEqual(answers(chat), ["during"]);
    } finally {
      await bot.stop();
      await server.kill();
      await emu.stop();
    }
  });
});
