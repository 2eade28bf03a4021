import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  existsSync,
  mkdtempSync,
  readFileSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { isKamihiError } from "@kamihi/core";
import { createMemoryStore, createStore } from "../src/index.js";
import { handTicked } from "./hand-ticked.js";
import { recordingLogger } from "./recording-logger.js";

function dataFile(): string {
  return join(mkdtempSync(join(tmpdir(), "kamihi-lock-")), "data.json");
}

/** A lock file as another process would write it. */
function writeLock(file: string, fields: Record<string, unknown>, ageMs = 0) {
  const lock = `${file}.lock`;
  writeFileSync(
    lock,
    JSON.stringify({
      pid: process.ppid,
      command: "kamihi dev",
      hostname: hostname(),
      since: "2026-01-01T00:00:00.000Z",
      staleMs: 30_000,
      token: "someone-else",
      ...fields,
    }),
  );
  if (ageMs > 0) {
    const then = new Date(Date.now() - ageMs);
    utimesSync(lock, then, then);
  }
}

/** The pid of a process that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ["-e", ""]);
  assert.equal(child.status, 0);
  return child.pid;
}

const locked = (pattern: RegExp) => (err: unknown) => {
  assert.ok(isKamihiError(err, "KAMIHI_DB_LOCKED"), String(err));
  assert.match(err.message, pattern);
  return true;
};

describe("the embedded store's file lock", () => {
  it("refuses a second open naming the process that holds the file, and what to do", async () => {
    const file = dataFile();
    // The parent of this test process: alive, and not this process.
    writeLock(file, { pid: process.ppid, command: "kamihi -C bot dev" });
    const store = createMemoryStore({ file });
    await assert.rejects(
      store.connect(),
      locked(
        new RegExp(
          `in use by kamihi -C bot dev \\(pid ${process.ppid}\\), since 2026-01-01T00:00:00\\.000Z\\. Only one process at a time may use it: stop that process first, or make the change through it \\(in the web admin, or with the running bot\\); to share the data between several processes, use MongoDB`,
        ),
      ),
    );
    const err = await store.connect().catch((error: unknown) => error);
    assert.ok(isKamihiError(err, "KAMIHI_DB_LOCKED"));
    assert.equal(err.details.pid, process.ppid);
    assert.equal(err.details.command, "kamihi -C bot dev");
    assert.ok(existsSync(`${file}.lock`), "someone else's lock is left alone");
    assert.ok(!existsSync(file), "and their file too");
  });

  it("refuses a second store on the same file in this process", async () => {
    const file = dataFile();
    const first = createMemoryStore({ file });
    await first.connect();
    await assert.rejects(
      createMemoryStore({ file }).connect(),
      locked(new RegExp(`in use by this process \\(pid ${process.pid}\\), through another store`)),
    );
    await first.close();
  });

  it("takes over, with a warning, a lock whose process is no longer running", async () => {
    const file = dataFile();
    const pid = deadPid();
    writeLock(file, { pid, command: "kamihi run" });
    const log = recordingLogger();
    const store = createStore({ url: `memory://?file=${file}`, name: "unused", logger: log });
    await store.connect();
    const warning = await log.next("warn");
    assert.match(
      warning,
      new RegExp(`took over the stale lock .*data\\.json\\.lock of kamihi run \\(pid ${pid}\\)`),
    );
    assert.match(warning, /is no longer running/);
    const lock = JSON.parse(readFileSync(`${file}.lock`, "utf8")) as { pid: number };
    assert.equal(lock.pid, process.pid, "the lock is this process's now");
    await store.close();
  });

  it("takes over a lock whose holder stopped refreshing it, even if its pid runs", async () => {
    const file = dataFile();
    writeLock(file, { pid: process.ppid, staleMs: 1_000 }, 5_000);
    const log = recordingLogger();
    const store = createMemoryStore({ file, logger: log });
    await store.connect();
    assert.match(await log.next("warn"), /was last refreshed \d+s ago/);
    await store.close();
  });

  it("judges staleness by its clock: a fresh lock is stale once the clock passes its staleMs", async () => {
    const file = dataFile();
    writeLock(file, { pid: process.ppid, staleMs: 30_000 });
    await assert.rejects(
      createMemoryStore({ file, lock: { clock: () => Date.now() + 29_000 } }).connect(),
      locked(/in use by kamihi dev/),
    );
    const log = recordingLogger();
    const later = createMemoryStore({
      file,
      logger: log,
      lock: { clock: () => Date.now() + 31_000 },
    });
    await later.connect();
    assert.match(await log.next("warn"), /was last refreshed 3[01]s ago/);
    await later.close();
  });

  it("judges a lock from another machine by its refreshes only", async () => {
    const file = dataFile();
    writeLock(file, { pid: deadPid(), hostname: "elsewhere" });
    await assert.rejects(
      createMemoryStore({ file }).connect(),
      locked(/in use by kamihi dev \(pid \d+ on elsewhere\)/),
    );
    writeLock(file, { pid: deadPid(), hostname: "elsewhere", staleMs: 1_000 }, 5_000);
    const store = createMemoryStore({ file });
    await store.connect();
    await store.close();
  });

  it("takes over a damaged lock file once it is not new, and waits while it may be being written", async () => {
    const file = dataFile();
    writeFileSync(`${file}.lock`, "");
    await assert.rejects(createMemoryStore({ file }).connect(), locked(/another process/));
    const then = new Date(Date.now() - 10_000);
    utimesSync(`${file}.lock`, then, then);
    const store = createMemoryStore({ file });
    await store.connect();
    await store.close();
  });

  it("releases the lock on close, and the same process can open the file again", async () => {
    const file = dataFile();
    for (let round = 1; round <= 3; round++) {
      const store = createMemoryStore({ file });
      await store.collection("notes").insertOne({ round });
      assert.ok(existsSync(`${file}.lock`));
      await store.close();
      assert.ok(!existsSync(`${file}.lock`), `released after round ${round}`);
    }
    const store = createMemoryStore({ file });
    assert.equal(await store.collection("notes").countDocuments(), 3);
    await store.close();
  });

  it("releases the lock when close() comes while connecting", async () => {
    const file = dataFile();
    const store = createMemoryStore({ file });
    const connecting = store.connect().catch((error: unknown) => error);
    await store.close();
    await connecting;
    assert.ok(!existsSync(`${file}.lock`));
  });

  it("refreshes its lock while open, by its clock, and stops on close", async () => {
    const file = dataFile();
    const refreshes = handTicked();
    const at = Date.parse("2030-01-01T00:00:00.000Z");
    const store = createMemoryStore({ file, lock: { repeat: refreshes.repeat, clock: () => at } });
    await store.connect();
    const then = new Date(Date.now() - 60_000);
    utimesSync(`${file}.lock`, then, then);
    await refreshes.tick();
    assert.equal(statSync(`${file}.lock`).mtimeMs, at, "stamped with the lock's clock");
    const lock = JSON.parse(readFileSync(`${file}.lock`, "utf8")) as { since: string };
    assert.equal(lock.since, "2030-01-01T00:00:00.000Z");
    await store.close();
    assert.ok(refreshes.stopped, "close() stops the refreshes");
  });

  it("stops writing, and says so, when another process took its lock over", async () => {
    const file = dataFile();
    const log = recordingLogger();
    const refreshes = handTicked();
    const store = createMemoryStore({ file, logger: log, lock: { repeat: refreshes.repeat } });
    await store.collection("notes").insertOne({ n: 1 });
    await (store.raw() as { flush(): Promise<void> }).flush();
    const before = readFileSync(file, "utf8");
    const logBefore = readFileSync(`${file}.log`, "utf8");
    writeLock(file, { pid: process.ppid, command: "kamihi run" });
    await refreshes.tick();
    assert.match(await log.next("error"), /was taken over by kamihi run \(pid \d+\)/);
    assert.ok(refreshes.stopped, "a lost lock is no longer refreshed");
    await store.collection("notes").insertOne({ n: 2 });
    await assert.rejects(store.close(), locked(/was taken over by another process/));
    assert.equal(readFileSync(file, "utf8"), before, "the other process's file is left alone");
    assert.equal(readFileSync(`${file}.log`, "utf8"), logBefore, "and so is its log");
    assert.ok(existsSync(`${file}.lock`), "and so is its lock");
  });
});
