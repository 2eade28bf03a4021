import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { isKamihiError } from "@kamihi/core";
import { createMemoryStore, createStore, parseMemoryUrl } from "../src/index.js";
import { handTicked } from "./hand-ticked.js";
import { recordingLogger } from "./recording-logger.js";

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

const writer = fileURLToPath(new URL("./fixtures/memory-writer.ts", import.meta.url));

function runWriter(file: string, ...args: string[]) {
  const result = spawnSync(process.execPath, ["--import", "tsx", writer, file, ...args], {
    encoding: "utf8",
    cwd: fileURLToPath(new URL("..", import.meta.url)),
  });
  assert.equal(result.status, 0, result.stderr);
}

describe("embedded store persistence", () => {
  it("survives a process restart, with documents, dates and unique indexes", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kamihi-memory-"));
    const file = join(dir, "nested", "data.json");
    runWriter(file);
    runWriter(file, "--no-close");
    assert.deepEqual(
      readdirSync(join(dir, "nested")).sort(),
      ["data.json", "data.json.log"],
      "the data file and the log of the process that did not close, no temporary file",
    );

    const store = createMemoryStore({ file });
    const users = store.collection<{ telegramId: number; name: string; seenAt: Date }>("users");
    const all = await users.find({}, { sort: { telegramId: 1 } });
    assert.deepEqual(
      all.map((u) => [u.telegramId, u.name]),
      [
        [100, "user 0"],
        [101, "user 1"],
      ],
    );
    assert.ok(all[0]?.seenAt instanceof Date);
    assert.ok(all[0]?.createdAt instanceof Date);
    await assert.rejects(
      users.insertOne({ telegramId: 100, name: "dup", seenAt: new Date() }),
      (err: unknown) => isKamihiError(err, "KAMIHI_DB_DUPLICATE_KEY"),
    );
    await store.close();
  });

  it("reads a relative file against cwd, from a memory:// URL", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kamihi-memory-"));
    const first = createStore({
      url: "memory://?file=.kamihi/data.json",
      name: "unused",
      cwd: dir,
    });
    await first.collection("notes").insertOne({ text: "kept" });
    await first.close();
    assert.ok(existsSync(join(dir, ".kamihi", "data.json")));
    const second = createStore({
      url: "memory://?file=.kamihi/data.json",
      name: "unused",
      cwd: dir,
    });
    assert.equal((await second.collection<{ text: string }>("notes").findOne({}))?.text, "kept");
    await second.close();
  });

  it("refuses a file that is not a Kamihi data file, saying what to do", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kamihi-memory-"));
    const file = join(dir, "data.json");
    writeFileSync(file, "{ not json");
    const store = createMemoryStore({ file });
    await assert.rejects(store.connect(), (err: unknown) => {
      assert.ok(isKamihiError(err, "KAMIHI_DB_UNREADABLE"));
      assert.match(err.message, /is not a Kamihi data file .*Move it away/);
      return true;
    });
  });

  it("refuses a file it may write but not read with KAMIHI_DB_UNREADABLE, naming it", {
    skip: process.platform === "win32" && "no mode bits on Windows",
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "kamihi-memory-"));
    const file = join(dir, "data.json");
    writeFileSync(file, "");
    chmodSync(file, 0o222);
    const root = typeof process.getuid === "function" && process.getuid() === 0;
    // Root reads any file: the store is opened by the unprivileged `nobody` instead.
    if (root) chmodSync(dir, 0o777);
    const fixture = fileURLToPath(new URL("./fixtures/connect-store.ts", import.meta.url));
    const run = spawnSync(
      process.execPath,
      ["--import", "tsx", fixture, file, ...(root ? ["--as", "nobody"] : [])],
      { encoding: "utf8", cwd: fileURLToPath(new URL("..", import.meta.url)) },
    );
    assert.equal(run.status, 0, run.stderr);
    const outcome = JSON.parse(run.stdout.trim().split("\n").at(-1) ?? "{}") as {
      code?: string;
      message?: string;
    };
    assert.equal(outcome.code, "KAMIHI_DB_UNREADABLE", outcome.message);
    assert.match(
      outcome.message ?? "",
      new RegExp(`Could not read the embedded store's file ${escapeRegExp(file)}: EACCES`),
    );
  });

  it("refuses writes that race close(), so nothing is written after it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kamihi-memory-"));
    const file = join(dir, "data.json");
    const store = createMemoryStore({ file });
    await store.collection("notes").insertOne({ n: 1 });
    const racing = assert.rejects(store.collection("notes").insertOne({ n: 2 }), (err: unknown) =>
      isKamihiError(err, "KAMIHI_DB_OPERATION_FAILED"),
    );
    await store.close();
    await racing;
    const reopened = createMemoryStore({ file });
    assert.equal(await reopened.collection("notes").countDocuments(), 1);
    await reopened.close();
  });

  it("logs a failing write at once with the path and reason, retries it, and keeps serving", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kamihi-memory-"));
    const file = join(dir, "data.json");
    const log = recordingLogger();
    const store = createMemoryStore({ file, flushDelayMs: 1, retryDelayMs: 10, logger: log });
    const notes = store.collection<{ n: number }>("notes");
    await notes.insertOne({ n: 1 });
    await (store.raw() as { flush(): Promise<void> }).flush();
    // The file's place is taken by a folder (as if removed and replaced): every write fails.
    rmSync(file);
    mkdirSync(join(file, "in-the-way"), { recursive: true });
    await notes.insertOne({ n: 2 });
    const first = await log.next("error");
    assert.match(
      first,
      new RegExp(`could not write ${escapeRegExp(file)} \\((EISDIR|ENOTEMPTY|EEXIST)`),
    );
    assert.match(first, /the data stays in memory and the write is retried in/);
    assert.equal(await notes.countDocuments(), 2, "still served from memory");
    await notes.insertOne({ n: 3 });
    // Retried, less and less often, and not logged at error on every attempt.
    await log.next("debug");
    assert.equal(log.lines.filter((line) => line.startsWith("error")).length, 1);
    rmSync(file, { recursive: true });
    const recovered = await log.next("info");
    assert.match(recovered, /wrote .*data\.json again, after \d+ failed attempts/);
    const saved = readFileSync(file, "utf8");
    assert.match(saved, /"n":3[,}]/);
    await store.close();
  });

  it("writes its file and its lock again when their folder was removed while open", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kamihi-memory-"));
    const file = join(dir, "nested", "data.json");
    const log = recordingLogger();
    const refreshes = handTicked();
    const store = createMemoryStore({ file, logger: log, lock: { repeat: refreshes.repeat } });
    const notes = store.collection<{ n: number }>("notes");
    await notes.insertOne({ n: 1 });
    rmSync(join(dir, "nested"), { recursive: true });
    await refreshes.tick();
    assert.match(
      await log.next("warn"),
      /the lock .*data\.json\.lock had been removed; this process put it back/,
    );
    await notes.insertOne({ n: 2 });
    await (store.raw() as { flush(): Promise<void> }).flush();
    assert.match(readFileSync(file, "utf8"), /"n":2[,}]/);
    await store.close();
    assert.deepEqual(readdirSync(join(dir, "nested")), ["data.json"]);
    const reopened = createMemoryStore({ file });
    assert.equal(await reopened.collection("notes").countDocuments(), 2);
    await reopened.close();
  });

  it("reports on close a write that still fails, and frees the file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kamihi-memory-"));
    const file = join(dir, "data.json");
    const store = createMemoryStore({ file, flushDelayMs: 60_000 });
    await store.connect();
    mkdirSync(join(file, "in-the-way"), { recursive: true });
    await store.collection("notes").insertOne({ n: 1 });
    await assert.rejects(store.close(), (err: unknown) => {
      assert.ok(isKamihiError(err, "KAMIHI_DB_OPERATION_FAILED"));
      assert.match(err.message, /could not write .*data\.json \((EISDIR|ENOTEMPTY|EEXIST)/);
      return true;
    });
    assert.ok(!existsSync(`${file}.lock`), "the lock is released even so");
  });

  it("sync() writes what was acknowledged before it resolves, without waiting for the batch", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kamihi-sync-"));
    const file = join(dir, "data.json");
    // A batch delay no test would wait for: only sync() can have written the file.
    const store = createMemoryStore({ file, flushDelayMs: 60_000 });
    try {
      await store.connect();
      await store.collection("notes").insertOne({ text: "kept" });
      assert.equal(existsSync(file) && readFileSync(file, "utf8").includes("kept"), false);
      await store.sync?.();
      assert.match(readFileSync(file, "utf8"), /kept/);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("keeps nothing on disk without a file", async () => {
    const store = createMemoryStore();
    await store.collection("x").insertOne({ a: 1 });
    assert.equal(store.kind, "memory");
    await store.close();
    await assert.rejects(store.collection("x").findOne({}), (err: unknown) =>
      isKamihiError(err, "KAMIHI_DB_OPERATION_FAILED"),
    );
  });
});

describe("embedded store semantics beyond the portable suite", () => {
  it("indexes each element of an array in a unique index, as MongoDB does", async () => {
    const store = createMemoryStore();
    const people = store.collection<{ tags: string[] }>("people");
    await people.createIndex({ keys: { tags: 1 }, unique: true });
    await people.insertOne({ tags: ["a", "b"] });
    await assert.rejects(people.insertOne({ tags: ["b", "c"] }), (err: unknown) =>
      isKamihiError(err, "KAMIHI_DB_DUPLICATE_KEY"),
    );
    await people.insertOne({ tags: ["c", "d"] });
    assert.equal(await people.countDocuments(), 2);
  });

  it("builds an upserted document from equalities inside $and, as MongoDB does", async () => {
    const store = createMemoryStore();
    const people = store.collection<{ telegramId: number; name: string; visits?: number }>(
      "people",
    );
    await people.updateOne(
      { $and: [{ telegramId: 43 }, { name: "Grace" }] },
      { $set: { visits: 1 } },
      { upsert: true },
    );
    const grace = await people.findOne({ telegramId: 43 });
    assert.equal(grace?.name, "Grace");
    assert.equal(grace?.visits, 1);
  });
});

describe("createStore", () => {
  it("picks the store from db.url", () => {
    assert.equal(createStore({ url: "memory://", name: "x" }).kind, "memory");
    assert.equal(createStore({ url: "mongodb://localhost:1", name: "x" }).kind, "mongodb");
    assert.equal(createStore({ url: "mongodb+srv://cluster.example", name: "x" }).kind, "mongodb");
    assert.throws(
      () => createStore({ url: "postgres://x", name: "x" }),
      (err: unknown) => isKamihiError(err, "KAMIHI_CONFIG_INVALID"),
    );
  });

  it("parses the embedded store's file from the URL", () => {
    assert.equal(parseMemoryUrl("memory://"), undefined);
    assert.equal(parseMemoryUrl("memory://?file=data.json"), "data.json");
    assert.equal(parseMemoryUrl("memory://?file=.kamihi%2Fdata.json"), ".kamihi/data.json");
    assert.equal(parseMemoryUrl("memory://?file="), undefined);
  });

  it("expires documents on the embedded store's clock", async () => {
    let now = new Date("2026-01-01T00:00:00Z");
    const store = createMemoryStore({ now: () => now });
    const codes = store.collection<{ code: string; at: Date }>("codes");
    await codes.createIndex({ keys: { at: 1 }, expireAfterSeconds: 60 });
    await codes.insertOne({ code: "a", at: now });
    assert.equal(await codes.countDocuments(), 1);
    now = new Date("2026-01-01T00:00:59Z");
    assert.equal(await codes.countDocuments(), 1);
    now = new Date("2026-01-01T00:01:01Z");
    assert.equal(await codes.countDocuments(), 0);
  });
});

describe("embedded store unique indexes", () => {
  it("track keys through inserts, updates and deletes, and check them without scanning", async () => {
    const store = createMemoryStore();
    const users = store.collection<{ telegramId: number; tags?: string[] }>("users");
    await users.createIndex({ keys: { telegramId: 1 }, unique: true });
    const duplicate = (error: unknown) => isKamihiError(error, "KAMIHI_DB_DUPLICATE_KEY");

    await users.insertOne({ telegramId: 1 });
    await users.updateOne({ telegramId: 1 }, { $set: { telegramId: 2 } });
    await users.insertOne({ telegramId: 1 }); // 1 was freed by the update
    await assert.rejects(users.insertOne({ telegramId: 2 }), duplicate);
    await assert.rejects(
      users.updateOne({ telegramId: 1 }, { $set: { telegramId: 2 } }),
      duplicate,
    );
    await users.deleteOne({ telegramId: 2 });
    await users.insertOne({ telegramId: 2 }); // freed by the delete
    await users.deleteMany({});
    await users.insertMany([{ telegramId: 1 }, { telegramId: 2 }]);
    assert.equal(await users.countDocuments(), 2);

    // Many keys later, the index still knows every one of them.
    for (let id = 10; id < 5_010; id++) await users.insertOne({ telegramId: id });
    assert.equal(await users.countDocuments(), 5_002);
    await assert.rejects(users.insertOne({ telegramId: 2_500 }), duplicate);
    await users.insertOne({ telegramId: 5_010 });
    await store.close();
  });
});
