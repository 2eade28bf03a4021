import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { isKamihiError } from "@kamihi/core";
import { createMemoryStore } from "../src/index.js";
import { recordingLogger } from "./recording-logger.js";

const holder = fileURLToPath(new URL("./fixtures/store-holder.ts", import.meta.url));

/** Another process holding the store of `file`, with what it printed. */
class Holder {
  readonly child: ChildProcess;
  out = "";
  private readonly waiters = new Set<() => void>();
  readonly exited: Promise<void>;

  constructor(file: string, ...args: string[]) {
    this.child = spawn(process.execPath, ["--import", "tsx", holder, file, ...args], {
      cwd: fileURLToPath(new URL("..", import.meta.url)),
      stdio: ["ignore", "pipe", "pipe"],
    });
    const collect = (chunk: Buffer) => {
      this.out += chunk.toString();
      for (const wake of [...this.waiters]) wake();
    };
    this.child.stdout?.on("data", collect);
    this.child.stderr?.on("data", collect);
    this.exited = new Promise((resolve) => this.child.once("exit", () => resolve()));
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  until(pattern: RegExp, timeout = 20_000): Promise<void> {
    if (pattern.test(this.out)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(wake);
        reject(new Error(`no ${pattern} within ${timeout} ms; output:\n${this.out}`));
      }, timeout);
      const wake = () => {
        if (!pattern.test(this.out)) return;
        clearTimeout(timer);
        this.waiters.delete(wake);
        resolve();
      };
      this.waiters.add(wake);
    });
  }

  async kill(signal: NodeJS.Signals): Promise<void> {
    this.child.kill(signal);
    await this.exited;
  }
}

function dataFile(): string {
  return join(mkdtempSync(join(tmpdir(), "kamihi-lock-process-")), "data.json");
}

describe("the embedded store's lock between real processes", () => {
  it("refuses the file while another process holds it, naming its pid; free once it stops", async () => {
    const file = dataFile();
    const other = new Holder(file);
    try {
      await other.until(/ready \d+/);
      const store = createMemoryStore({ file });
      await assert.rejects(store.connect(), (err: unknown) => {
        assert.ok(isKamihiError(err, "KAMIHI_DB_LOCKED"), String(err));
        assert.match(
          err.message,
          new RegExp(`in use by store-holder\\.ts .*\\(pid ${other.pid}\\)`),
        );
        assert.match(err.message, /stop that process first/);
        assert.equal(err.details.pid, other.pid);
        return true;
      });
    } finally {
      await other.kill("SIGTERM");
    }
    assert.equal(other.child.exitCode, 0, other.out);
    const store = createMemoryStore({ file });
    const notes = await store.collection<{ by: number }>("notes").find({});
    assert.deepEqual(
      notes.map((note) => note.by),
      [other.pid],
    );
    await store.close();
  });

  it("takes the file over at once after its holder was SIGKILLed (its pid is gone)", async () => {
    const file = dataFile();
    // A long staleness: only the dead pid can free the lock quickly.
    const other = new Holder(file, "60000");
    await other.until(/ready \d+/);
    // Once its exit is reported, its pid is gone: the first attempt takes the file over.
    await other.kill("SIGKILL");
    const log = recordingLogger();
    const store = createMemoryStore({ file, logger: log });
    await store.connect();
    assert.match(
      await log.next("warn"),
      new RegExp(
        `took over the stale lock .* \\(pid ${other.pid}\\): its process \\(pid ${other.pid}\\) is no longer running`,
      ),
    );
    assert.equal(await store.collection("notes").countDocuments(), 1, "its data is there");
    await store.close();
  });

  it("takes the file over once a live holder stops refreshing its lock (SIGSTOP), and the holder learns it", {
    skip: process.platform === "win32" && "no SIGSTOP on Windows",
  }, async () => {
    const file = dataFile();
    const staleMs = 60_000;
    const other = new Holder(file, String(staleMs), "50");
    try {
      await other.until(/ready \d+/);
      other.child.kill("SIGSTOP");
      const log = recordingLogger();
      const store = createMemoryStore({ file, logger: log });
      await assert.rejects(store.connect(), (err: unknown) =>
        isKamihiError(err, "KAMIHI_DB_LOCKED"),
      );
      // The holder's promise is to refresh within staleMs: this store's clock says it did not.
      const later = createMemoryStore({
        file,
        logger: log,
        lock: { clock: () => Date.now() + staleMs + 1_000 },
      });
      await later.connect();
      assert.match(await log.next("warn"), /was last refreshed 6[01]s ago/);
      other.child.kill("SIGCONT");
      await other.until(
        /error: the lock .* was taken over by .*\(pid \d+\): this process no longer writes the file/,
      );
      await later.close();
    } finally {
      other.child.kill("SIGCONT");
      await other.kill("SIGKILL");
    }
  });
});
