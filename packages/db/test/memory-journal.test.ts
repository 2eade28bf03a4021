import assert from "node:assert/strict";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it, type TestContext } from "node:test";
import { type Document, isKamihiError, type Store } from "@kamihi/core";
import { EJSON } from "bson";
import { createMemoryStore } from "../src/index.js";
import { recordingLogger } from "./recording-logger.js";

function folder(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), "kamihi-journal-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** What a crash leaves on disk: the data file and its log as they are now, in a new folder. */
function crashCopy(file: string, to: string): string {
  mkdirSync(to, { recursive: true });
  const copy = join(to, "data.json");
  copyFileSync(file, copy);
  if (existsSync(`${file}.log`)) copyFileSync(`${file}.log`, `${copy}.log`);
  return copy;
}

const lines = (path: string) =>
  readFileSync(path, "utf8")
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as Record<string, unknown>);

const raw = (store: Store) => store.raw() as { compact(): Promise<void> };

/** A store that writes only when told to (`sync()`), so each batch is one known write. */
function openStore(file: string, options: Parameters<typeof createMemoryStore>[0] = {}) {
  return createMemoryStore({ file, flushDelayMs: 60_000, ...options });
}

async function names(store: Store): Promise<string[]> {
  return (await store.collection<{ name: string }>("notes").find({})).map((doc) => doc.name);
}

describe("embedded store log", () => {
  it("appends one line per changed document and a commit, and leaves the data file alone", async (t) => {
    const file = join(folder(t), "data.json");
    const store = openStore(file);
    const notes = store.collection<{ name: string; n?: number }>("notes");
    await notes.insertMany([{ name: "a" }, { name: "b" }, { name: "c" }]);
    await store.sync?.();
    const data = readFileSync(file, "utf8");
    const header = lines(file)[0];
    assert.equal(header?.format, "kamihi-embedded-store");
    assert.equal(header?.part, "snapshot");
    assert.deepEqual(lines(`${file}.log`), [
      { format: "kamihi-embedded-store", version: 2, part: "log", generation: header?.generation },
    ]);

    await notes.updateOne({ name: "b" }, { $set: { n: 1 } });
    await notes.updateOne({ name: "b" }, { $inc: { n: 1 } });
    await store.sync?.();
    const [, put, commit] = lines(`${file}.log`);
    assert.equal(put?.in, "kamihi_notes");
    assert.deepEqual(
      { ...(put?.put as Document), createdAt: 0, updatedAt: 0, _id: 0 },
      {
        _id: 0,
        name: "b",
        n: 2,
        createdAt: 0,
        updatedAt: 0,
      },
    );
    assert.deepEqual(commit, { commit: 1 }, "two updates of one document: one line");

    await notes.deleteOne({ name: "a" });
    await notes.insertOne({ name: "d" });
    await store.sync?.();
    const batch = lines(`${file}.log`).slice(3);
    assert.deepEqual(
      batch.map((line) => Object.keys(line).sort().join(",")),
      ["delete,in", "in,put", "commit"],
    );
    assert.deepEqual(batch[2], { commit: 2 });
    assert.equal(readFileSync(file, "utf8"), data, "the data file is not rewritten");

    await store.close();
    assert.ok(!existsSync(`${file}.log`), "close folds the log into the data file");
    const reopened = openStore(file);
    assert.deepEqual(await names(reopened), ["b", "c", "d"]);
    assert.equal(
      (await reopened.collection<{ name: string; n: number }>("notes").findOne({ name: "b" }))?.n,
      2,
    );
    await reopened.close();
  });

  it("replays the log after a crash, ignoring a torn last batch with a warning, and writes on after it", async (t) => {
    const dir = folder(t);
    const file = join(dir, "data.json");
    const writer = openStore(file);
    const notes = writer.collection<{ name: string; n?: number }>("notes");
    await notes.insertMany([{ name: "a" }, { name: "b" }]);
    await writer.sync?.();
    await notes.updateOne({ name: "b" }, { $set: { n: 7 } });
    await writer.sync?.();
    const complete = statSync(`${file}.log`).size;
    // The last batch: two documents, then its commit line.
    await notes.insertMany([{ name: "c" }, { name: "d" }]);
    await writer.sync?.();
    const full = statSync(`${file}.log`).size;
    const tail = readFileSync(`${file}.log`, "utf8").slice(complete);
    const cuts = {
      "inside the commit": full - 3,
      "before the commit": complete + tail.lastIndexOf("{"),
      "between two changes": complete + tail.indexOf("\n") + 1,
      "inside the first change": complete + 10,
      "after the last complete batch": complete,
    };
    for (const [what, size] of Object.entries(cuts)) {
      const copy = crashCopy(file, join(dir, `crash-${what.replaceAll(" ", "-")}`));
      truncateSync(`${copy}.log`, size);
      const log = recordingLogger();
      const reopened = openStore(copy, { logger: log });
      assert.deepEqual(await names(reopened), ["a", "b"], `cut ${what}: the torn batch is gone`);
      const b = await reopened
        .collection<{ name: string; n: number }>("notes")
        .findOne({ name: "b" });
      assert.equal(b?.n, 7, `cut ${what}: every complete batch is kept`);
      if (size > complete) {
        assert.match(
          await log.next("warn"),
          /log .*data\.json\.log ends in an incomplete write \(\d+ bytes from line 4.*everything before it kept/,
        );
      } else {
        assert.deepEqual(log.lines, [], "nothing torn, nothing said");
      }
      assert.equal(
        statSync(`${copy}.log`).size,
        complete,
        `cut ${what}: the torn batch is cut off`,
      );
      // Writing goes on after the last complete batch, and survives the next start.
      await reopened.collection("notes").insertOne({ name: "e" });
      await reopened.sync?.();
      const again = openStore(crashCopy(copy, join(dir, `again-${what.replaceAll(" ", "-")}`)));
      assert.deepEqual(await names(again), ["a", "b", "e"], `cut ${what}: a write after it`);
      await again.close();
      await reopened.close();
    }
    await writer.close();
  });

  it("refuses a log damaged before its end, naming the line", async (t) => {
    const dir = folder(t);
    const file = join(dir, "data.json");
    const store = openStore(file);
    const notes = store.collection<{ name: string }>("notes");
    await notes.insertOne({ name: "a" });
    await store.sync?.();
    await notes.insertOne({ name: "b" });
    await store.sync?.();
    await notes.insertOne({ name: "c" });
    await store.sync?.();
    const copy = crashCopy(file, join(dir, "copy"));
    const text = readFileSync(`${copy}.log`, "utf8").split("\n");
    text[1] = `${text[1]?.slice(0, 20)}#garbage`;
    writeFileSync(`${copy}.log`, text.join("\n"));
    await assert.rejects(openStore(copy).connect(), (err: unknown) => {
      assert.ok(isKamihiError(err, "KAMIHI_DB_UNREADABLE"));
      assert.match(err.message, /data\.json\.log is damaged at line 2 .*cut the log before line 2/);
      return true;
    });
    await store.close();
  });

  it("keeps the natural order through the log, a document deleted and inserted again last", async (t) => {
    const dir = folder(t);
    const file = join(dir, "data.json");
    const store = openStore(file);
    const notes = store.collection<{ name: string }>("notes");
    await notes.insertMany([
      { _id: "a", name: "a" },
      { _id: "b", name: "b" },
      { _id: "c", name: "c" },
    ]);
    await store.sync?.();
    await notes.deleteOne({ _id: "a" });
    await notes.insertOne({ _id: "a", name: "a again" });
    await notes.updateOne({ _id: "b" }, { $set: { name: "b changed" } });
    await store.sync?.();
    const live = await names(store);
    assert.deepEqual(live, ["b changed", "c", "a again"]);
    const reopened = openStore(crashCopy(file, join(dir, "copy")));
    assert.deepEqual(await names(reopened), live);
    await reopened.close();
    await store.close();
  });
});

describe("embedded store compaction", () => {
  it("folds the log into the data file once it outgrows the data, keeping every document", async (t) => {
    const dir = folder(t);
    const file = join(dir, "data.json");
    const store = openStore(file, { compactMinBytes: 1 });
    const counters = store.collection<{ name: string; n: number }>("counters");
    await counters.createIndex({ keys: { name: 1 }, unique: true });
    await counters.insertMany(Array.from({ length: 5 }, (_, i) => ({ name: `c${i}`, n: 0 })));
    await store.sync?.();
    const generation = () => lines(file)[0]?.generation as number;
    const first = generation();
    let largest = 0;
    for (let round = 0; round < 40; round++) {
      await counters.updateOne({ name: `c${round % 5}` }, { $inc: { n: 1 } });
      if (round % 7 === 0) await counters.deleteOne({ name: `gone${round - 7}` });
      if (round % 7 === 0) await counters.insertOne({ name: `gone${round}`, n: -1 });
      await store.sync?.();
      largest = Math.max(largest, statSync(`${file}.log`).size);
    }
    assert.ok(generation() > first + 1, "compacted again and again");
    assert.ok(
      largest <= 2 * statSync(file).size + 1_000,
      `the log stays within twice the data (at most ${largest} bytes)`,
    );
    const live = await counters.find({}, { sort: { name: 1 } });
    const copy = openStore(crashCopy(file, join(dir, "copy")));
    const reread = await copy.collection<{ name: string; n: number }>("counters").find(
      {},
      {
        sort: { name: 1 },
      },
    );
    assert.deepEqual(reread, live);
    await assert.rejects(
      copy.collection("counters").insertOne({ name: "c0" }),
      (err: unknown) => isKamihiError(err, "KAMIHI_DB_DUPLICATE_KEY"),
      "index definitions survive compaction",
    );
    await copy.close();
    await store.close();
  });

  it("keeps a write made after a compaction, through a crash and through a clean stop", async (t) => {
    const dir = folder(t);
    const file = join(dir, "data.json");
    const store = openStore(file);
    const notes = store.collection<{ name: string }>("notes");
    await notes.insertOne({ name: "before" });
    await raw(store).compact();
    const data = readFileSync(file, "utf8");
    await notes.insertOne({ name: "after" });
    await store.sync?.();
    assert.equal(readFileSync(file, "utf8"), data, "the write went to the log");
    const crashed = openStore(crashCopy(file, join(dir, "copy")));
    assert.deepEqual(await names(crashed), ["before", "after"]);
    await crashed.close();
    await store.close();
    const reopened = openStore(file);
    assert.deepEqual(await names(reopened), ["before", "after"]);
    await reopened.close();
  });

  it("ignores a log the data file already holds (a stop between the two writes of a compaction)", async (t) => {
    const dir = folder(t);
    const file = join(dir, "data.json");
    const store = openStore(file);
    const notes = store.collection<{ name: string; v: number }>("notes");
    await notes.insertOne({ name: "a", v: 1 });
    await store.sync?.();
    await notes.updateOne({ name: "a" }, { $set: { v: 2 } });
    await store.sync?.();
    const oldLog = readFileSync(`${file}.log`);
    await notes.updateOne({ name: "a" }, { $set: { v: 3 } });
    await raw(store).compact();
    // The new data file is in place; the old log was not replaced yet.
    const copy = crashCopy(file, join(dir, "copy"));
    writeFileSync(`${copy}.log`, oldLog);
    const reopened = openStore(copy);
    assert.equal((await reopened.collection<{ v: number }>("notes").findOne({}))?.v, 3);
    await reopened.close();
    await store.close();
  });
});

describe("embedded store files from elsewhere", () => {
  /** A data file as Kamihi wrote it before the log (format version 1). */
  function writeVersion1(file: string, documents: Document[], indexes: Document[]) {
    writeFileSync(
      file,
      EJSON.stringify(
        {
          version: 1,
          collections: {
            kamihi_users: { documents, indexes },
            kamihi_empty: { documents: [], indexes: [] },
          },
        },
        { relaxed: false },
      ),
    );
  }

  it("reads a file in the format older versions wrote, and rewrites it in the new format on the first compaction", async (t) => {
    const dir = folder(t);
    const file = join(dir, "data.json");
    const now = new Date("2026-03-01T00:00:00Z");
    const users: Document[] = [
      {
        _id: "u1",
        telegramId: 42,
        name: "Ada",
        score: 1.5,
        big: 2 ** 40,
        roles: ["admin", "user"],
        profile: { city: "London", since: new Date("2020-01-01T00:00:00Z") },
        seenAt: now,
        createdAt: now,
        updatedAt: now,
      },
      {
        _id: "u2",
        telegramId: 43,
        name: "Grace",
        seenAt: new Date(now.getTime() - 7_200_000),
        createdAt: now,
        updatedAt: now,
      },
    ];
    writeVersion1(file, users, [
      { keys: { telegramId: 1 }, unique: true, name: "telegramId_1" },
      { keys: { seenAt: 1 }, expireAfterSeconds: 3600, name: "seenAt_1" },
    ]);
    const original = readFileSync(file, "utf8");

    const store = openStore(file, { now: () => now });
    const collection = store.collection("users");
    assert.deepEqual(await collection.find({}), [users[0]], "documents as written; u2 expired");
    await assert.rejects(collection.insertOne({ telegramId: 42 }), (err: unknown) =>
      isKamihiError(err, "KAMIHI_DB_DUPLICATE_KEY"),
    );
    assert.equal(readFileSync(file, "utf8").slice(0, 40), original.slice(0, 40));

    await collection.updateOne({ telegramId: 42 }, { $set: { name: "Ada L." } });
    await store.sync?.();
    assert.deepEqual(lines(file)[0], {
      format: "kamihi-embedded-store",
      version: 2,
      part: "snapshot",
      generation: 1,
    });
    await store.close();

    const reopened = openStore(file, { now: () => now });
    const [ada] = await reopened.collection("users").find({});
    assert.equal(ada?.name, "Ada L.");
    assert.deepEqual({ ...ada, name: "Ada", updatedAt: now }, users[0]);
    await reopened.close();
  });

  it("rewrites a file of the old format at close even when nothing changed", async (t) => {
    const file = join(folder(t), "data.json");
    writeVersion1(file, [{ _id: "u1", name: "Ada" }], []);
    const store = openStore(file);
    assert.equal((await store.collection("users").findOne({}))?.name, "Ada");
    await store.close();
    assert.equal(lines(file)[0]?.format, "kamihi-embedded-store");
  });

  it("writes nothing when its start failed, even at close", async (t) => {
    const file = join(folder(t), "data.json");
    writeVersion1(
      file,
      [
        { _id: "u1", telegramId: 1 },
        { _id: "u2", telegramId: 1 },
      ],
      [],
    );
    const original = readFileSync(file, "utf8");
    const store = openStore(file, {
      indexes: { users: [{ keys: { telegramId: 1 }, unique: true }] },
    });
    await assert.rejects(store.connect(), (err: unknown) =>
      isKamihiError(err, "KAMIHI_DB_DUPLICATE_KEY"),
    );
    await store.close();
    assert.equal(readFileSync(file, "utf8"), original);
    assert.ok(!existsSync(`${file}.log`));
  });

  it("refuses a log without its data file, and a file of a newer format, saying what to do", async (t) => {
    const dir = folder(t);
    const file = join(dir, "data.json");
    const store = openStore(file);
    await store.collection("notes").insertOne({ name: "a" });
    await store.sync?.();
    await store.collection("notes").insertOne({ name: "b" });
    await store.sync?.();
    const copy = crashCopy(file, join(dir, "copy"));
    rmSync(copy);
    await assert.rejects(openStore(copy).connect(), (err: unknown) => {
      assert.ok(isKamihiError(err, "KAMIHI_DB_UNREADABLE"));
      assert.match(err.message, /data\.json is missing, but its log .* is there.*Put .* back/);
      return true;
    });
    await store.close();

    const newer = join(dir, "newer.json");
    writeFileSync(
      newer,
      `${JSON.stringify({ format: "kamihi-embedded-store", version: 3, part: "snapshot", generation: 1 })}\n`,
    );
    await assert.rejects(openStore(newer).connect(), (err: unknown) => {
      assert.ok(isKamihiError(err, "KAMIHI_DB_UNREADABLE"));
      assert.match(err.message, /written by a newer Kamihi version \(format 3\); upgrade Kamihi/);
      return true;
    });
  });
});
