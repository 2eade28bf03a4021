import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { type Document, type FindOptions, isKamihiError } from "@kamihi/core";
import { find as mingoFind } from "mingo";
import { createMemoryStore } from "../src/index.js";

/** A small seeded generator (mulberry32), so a failing case can be replayed from its seed. */
function random(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T,
  };
}

const MISSING = Symbol("missing");
const day = (n: number) => new Date(Date.UTC(2026, 0, n));

/** Values with every subtlety an equality has: types, null and missing, arrays, nesting. */
const VALUES: readonly unknown[] = [
  0,
  1,
  2,
  -0,
  1.5,
  Number.NaN,
  "1",
  "a",
  "b",
  "",
  true,
  false,
  null,
  MISSING,
  MISSING,
  day(1),
  day(2),
  [],
  [1, 2],
  ["a", null],
  [[1], 2],
  [day(1), "a"],
  { b: 1 },
  { b: "a" },
  { b: null },
  { b: [2, "a"] },
  { c: 1 },
  [{ b: 1 }, { b: 2 }],
  [{ b: [1, "a"] }, { c: 1 }],
  [{ b: null }, 3],
];

/** Query values: the document values, and arrays and sub-documents that never use an index. */
const QUERY_VALUES: readonly unknown[] = VALUES.filter((v) => v !== MISSING);

function put(doc: Document, field: string, value: unknown) {
  if (value !== MISSING) doc[field] = structuredClone(value);
}

function randomDoc(r: ReturnType<typeof random>, n: number): Document {
  const doc: Document = { _id: r.next() < 0.2 ? n : `d${n}`, u: n };
  put(doc, "a", r.pick(VALUES));
  put(doc, "c", r.pick(VALUES));
  if (r.next() < 0.7) {
    doc.n = {};
    put(doc.n as Document, "m", r.pick(VALUES));
  } else {
    put(doc, "n", r.pick(VALUES));
  }
  return doc;
}

function randomFilter(r: ReturnType<typeof random>, ids: readonly unknown[]): Document {
  const v = () => r.pick(QUERY_VALUES);
  const id = () => (ids.length === 0 || r.next() < 0.2 ? "nobody" : r.pick(ids));
  const shapes: (() => Document)[] = [
    () => ({ a: v() }),
    () => ({ a: { $eq: v() } }),
    () => ({ a: { $in: [v(), v()] } }),
    () => ({ a: { $in: [] } }),
    () => ({ "a.b": v() }),
    () => ({ "a.0": v() }),
    () => ({ c: v(), a: v() }),
    () => ({ c: v() }),
    () => ({ "n.m": v() }),
    () => ({ "n.m": { $in: [v(), null] } }),
    () => ({ $and: [{ a: v() }, { c: { $ne: v() } }] }),
    () => ({ $and: [{ "n.m": { $eq: v() } }, { $or: [{ a: v() }, { c: v() }] }] }),
    () => ({ _id: id() }),
    () => ({ _id: { $in: [id(), id()] } }),
    () => ({ _id: id(), a: v() }),
    () => ({ u: r.int(40) }),
    () => ({ u: { $in: [r.int(40), r.int(40), "3"] } }),
    () => ({ a: v(), u: { $gte: r.int(40) } }),
    () => ({ $or: [{ a: v() }, { c: v() }] }),
    () => ({ a: { $exists: r.next() < 0.5 } }),
    () => ({}),
  ];
  return r.pick(shapes)();
}

const SORTS: readonly FindOptions["sort"][] = [
  { a: 1 },
  { a: -1 },
  { u: -1 },
  { c: 1, u: -1 },
  { "n.m": 1 },
  { "n.m": -1, a: 1 },
];

const ids = (docs: readonly Document[]) => docs.map((doc) => doc._id);
/** A filter by `_id`, which this test lets be a number too. */
const byId = (id: string | number): Document => ({ _id: id });

/** What a scan of every document answers, by the query engine alone (as the store once did). */
function scan(all: Document[], filter: Document, opts: FindOptions = {}): Document[] {
  let cursor = mingoFind(all, filter);
  if (opts.sort) cursor = cursor.sort(opts.sort);
  if (opts.skip) cursor = cursor.skip(opts.skip);
  if (opts.limit) cursor = cursor.limit(opts.limit);
  return cursor.all() as Document[];
}

describe("embedded store indexes", () => {
  it("answer every filter exactly as a scan of every document does, through random changes", async () => {
    const seed = Number(process.env.KAMIHI_TEST_SEED ?? 20260101);
    const r = random(seed);
    const store = createMemoryStore();
    const docs = store.collection("random");
    await docs.createIndex({ keys: { a: 1 } });
    await docs.createIndex({ keys: { "a.b": 1 } });
    await docs.createIndex({ keys: { c: 1, a: -1 } });
    await docs.createIndex({ keys: { "n.m": 1 } });
    await docs.createIndex({ keys: { "a.0": 1 } });
    await docs.createIndex({ keys: { u: 1 }, unique: true });
    /** The ids in the order the store must keep them: inserted at the end, updated in place. */
    let order: (string | number)[] = [];
    let serial = 0;
    const insert = async () => {
      const doc = randomDoc(r, serial++);
      await docs.insertOne(doc);
      order.push(doc._id as string | number);
    };
    for (let i = 0; i < 40; i++) await insert();

    for (let round = 0; round < 300; round++) {
      const context = `seed ${seed}, round ${round}`;
      const all = await docs.find({});
      assert.deepEqual(ids(all), order, `natural order (${context})`);
      for (let q = 0; q < 8; q++) {
        const filter = randomFilter(r, order);
        const what = `${context}, filter ${JSON.stringify(filter)}`;
        const expected = scan(all, filter);
        assert.deepEqual(ids(await docs.find(filter)), ids(expected), what);
        assert.equal(await docs.countDocuments(filter), expected.length, what);
        assert.equal((await docs.findOne(filter))?._id, expected[0]?._id, what);
        const sort = r.pick(SORTS);
        const page = { sort, skip: r.int(3), ...(r.next() < 0.8 ? { limit: 1 + r.int(5) } : {}) };
        assert.deepEqual(
          ids(await docs.find(filter, page)),
          ids(scan(all, filter, page)),
          `${what}, ${JSON.stringify(page)}`,
        );
        assert.equal(
          (await docs.findOne(filter, { sort }))?._id,
          scan(all, filter, { sort, limit: 1 })[0]?._id,
          `${what}, findOne sorted by ${JSON.stringify(sort)}`,
        );
      }

      // Change the collection, keeping `order` in step with what MongoDB would do.
      const filter = randomFilter(r, order);
      const matched = ids(scan(all, filter));
      switch (r.int(7)) {
        case 0:
          await insert();
          break;
        case 1: {
          const value = r.pick(VALUES);
          await docs.updateOne(
            byId(r.pick(order)),
            value === MISSING
              ? { $unset: { a: "" } }
              : { $set: { a: structuredClone(value) as Document } },
          );
          break;
        }
        case 2:
          await docs.updateMany(filter, { $set: { c: structuredClone(r.pick(QUERY_VALUES)) } });
          await docs.updateOne(filter, {
            $set: { n: { m: structuredClone(r.pick(QUERY_VALUES)) } },
          });
          break;
        case 3:
          await docs.updateOne(filter, { $unset: { a: "" } });
          break;
        case 4:
          if ((await docs.deleteOne(filter)).deletedCount === 1) {
            order = order.filter((id) => id !== matched[0]);
          }
          break;
        case 5:
          if (matched.length < order.length / 2) {
            await docs.deleteMany(filter);
            order = order.filter((id) => !matched.includes(id));
          }
          break;
        default: {
          // A unique key held by another document: refused, and nothing changes.
          const [first, second] = order;
          if (first === undefined || second === undefined) break;
          const held = (await docs.findOne(byId(second)))?.u;
          await assert.rejects(docs.updateOne(byId(first), { $set: { u: held } }), (err: unknown) =>
            isKamihiError(err, "KAMIHI_DB_DUPLICATE_KEY"),
          );
        }
      }
      if (order.length < 20) for (let i = 0; i < 10; i++) await insert();
    }
    await store.close();
  });

  it("follow documents whose indexed fields change, by $set, $unset, $push, $pull and $inc", async () => {
    const store = createMemoryStore();
    const users = store.collection<{
      telegramId: number;
      status?: string;
      tags?: string[];
      address?: { city: string };
      visits?: number;
    }>("users");
    await users.createIndex({ keys: { telegramId: 1 }, unique: true });
    await users.createIndex({ keys: { status: 1 } });
    await users.createIndex({ keys: { tags: 1 } });
    await users.createIndex({ keys: { "address.city": 1 } });
    await users.createIndex({ keys: { visits: 1 } });
    const ada = await users.insertOne({ telegramId: 1, status: "pending", tags: ["math"] });
    await users.insertOne({ telegramId: 2, status: "active", address: { city: "Paris" } });
    const names = async (filter: Document) =>
      (await users.find(filter, { sort: { telegramId: 1 } })).map((u) => u.telegramId);

    await users.updateOne({ telegramId: 1 }, { $set: { status: "active" } });
    assert.deepEqual(await names({ status: "pending" }), []);
    assert.deepEqual(await names({ status: "active" }), [1, 2]);

    await users.updateOne({ _id: ada._id }, { $push: { tags: "poetry" } });
    assert.deepEqual(await names({ tags: "poetry" }), [1]);
    await users.updateOne({ _id: ada._id }, { $pull: { tags: "math" } });
    assert.deepEqual(await names({ tags: "math" }), []);
    assert.deepEqual(await names({ tags: { $in: ["math", "poetry"] } }), [1]);

    await users.updateOne({ telegramId: 2 }, { $set: { "address.city": "London" } });
    assert.deepEqual(await names({ "address.city": "Paris" }), []);
    assert.deepEqual(await names({ "address.city": "London" }), [2]);

    await users.updateOne({ telegramId: 2 }, { $unset: { status: "" } });
    assert.deepEqual(await names({ status: null }), [2], "a removed field is null");
    assert.deepEqual(await names({ "address.city": null }), [1], "so is one never set");

    await users.updateOne({ telegramId: 1 }, { $inc: { visits: 1 } });
    await users.updateOne({ telegramId: 1 }, { $inc: { visits: 1 } });
    assert.deepEqual(await names({ visits: 1 }), []);
    assert.deepEqual(await names({ visits: 2 }), [1]);

    // A unique key moves with its document: the old one is free, the new one is taken.
    await users.updateOne({ telegramId: 1 }, { $set: { telegramId: 10 } });
    assert.deepEqual(await names({ telegramId: 1 }), []);
    assert.deepEqual(await names({ telegramId: 10 }), [10]);
    await users.insertOne({ telegramId: 1 });
    await assert.rejects(users.insertOne({ telegramId: 10 }), (err: unknown) =>
      isKamihiError(err, "KAMIHI_DB_DUPLICATE_KEY"),
    );
    await users.deleteOne({ telegramId: 10 });
    assert.deepEqual(await names({ tags: "poetry" }), [], "a deleted document leaves the index");
    await users.insertOne({ telegramId: 10 });
    assert.equal(await users.countDocuments({}), 3);
    await store.close();
  });

  it("tell apart keys of different types, and keep 0 and -0, and dates of one instant, equal", async () => {
    const store = createMemoryStore();
    const keys = store.collection<{ k?: unknown }>("keys");
    await keys.createIndex({ keys: { k: 1 } });
    for (const k of [1, "1", true, day(1), 0, null]) await keys.insertOne({ k });
    await keys.insertOne({});
    const found = async (k: unknown) => (await keys.find({ k })).map((doc) => doc.k);
    assert.deepEqual(await found(1), [1]);
    assert.deepEqual(await found("1"), ["1"]);
    assert.deepEqual(await found(true), [true]);
    assert.deepEqual(await found(-0), [0]);
    assert.deepEqual(await found(new Date(day(1).getTime())), [day(1)]);
    assert.deepEqual(await found(null), [null, undefined], "null matches null and missing");
    const unique = store.collection<{ k: unknown }>("unique");
    await unique.createIndex({ keys: { k: 1 }, unique: true });
    await unique.insertOne({ k: 0 });
    await assert.rejects(unique.insertOne({ k: -0 }), (err: unknown) =>
      isKamihiError(err, "KAMIHI_DB_DUPLICATE_KEY"),
    );
    await unique.insertOne({ k: "0" });
    await store.close();
  });

  it("count a whole collection without reading it, and page through it in sort order", async () => {
    const store = createMemoryStore();
    const items = store.collection<{ n: number; group: string }>("items");
    const all = Array.from({ length: 500 }, (_, i) => ({
      n: (i * 7919) % 500,
      group: `g${i % 3}`,
    }));
    await items.insertMany(all);
    assert.equal(await items.countDocuments({}), 500);
    assert.equal(await items.countDocuments(), 500);
    const page = await items.find({}, { sort: { n: -1 }, skip: 10, limit: 5 });
    assert.deepEqual(
      page.map((item) => item.n),
      [489, 488, 487, 486, 485],
    );
    const projected = await items.find(
      { group: "g1" },
      { sort: { n: 1 }, limit: 2, projection: { n: 1, _id: 0 } },
    );
    const smallest = all
      .filter((item) => item.group === "g1")
      .map((item) => item.n)
      .sort((a, b) => a - b)
      .slice(0, 2);
    assert.deepEqual(
      projected,
      smallest.map((n) => ({ n })),
    );
    await store.close();
  });
});

describe("embedded store TTL with indexes", () => {
  it("hides and purges expired documents, frees their unique keys, and follows new deadlines", async () => {
    let now = new Date("2026-01-01T00:00:00Z");
    const store = createMemoryStore({ now: () => now });
    const conversations = store.collection<{ chatId: number; expiresAt: unknown }>("conversations");
    await conversations.createIndex({ keys: { chatId: 1 }, unique: true });
    await conversations.createIndex({ keys: { expiresAt: 1 }, expireAfterSeconds: 0 });
    const at = (seconds: number) => new Date(now.getTime() + seconds * 1000);
    await conversations.insertMany([
      { chatId: 1, expiresAt: at(10) },
      { chatId: 2, expiresAt: at(20) },
      { chatId: 3, expiresAt: [at(30), at(5)] }, // the earliest date decides
      { chatId: 4, expiresAt: "never" }, // not a date: never expires
      { chatId: 5, expiresAt: at(10) },
    ]);
    const alive = async () =>
      (await conversations.find({}, { sort: { chatId: 1 } })).map((c) => c.chatId);

    now = new Date(now.getTime() + 6_000);
    assert.deepEqual(await alive(), [1, 2, 4, 5]);
    assert.equal(await conversations.findOne({ chatId: 3 }), null);

    // Moved further away before it is due: the old deadline no longer counts.
    await conversations.updateOne({ chatId: 5 }, { $set: { expiresAt: at(60) } });
    now = new Date(now.getTime() + 5_000);
    assert.deepEqual(await alive(), [2, 4, 5]);
    assert.equal(await conversations.countDocuments({ chatId: 1 }), 0);
    assert.equal(await conversations.countDocuments({}), 3);

    // An expired key is free again, and its new document has its own deadline.
    await conversations.insertOne({ chatId: 1, expiresAt: at(100) });
    await conversations.updateOne(
      { chatId: 3 },
      { $set: { expiresAt: at(100) } },
      { upsert: true },
    );
    now = new Date(now.getTime() + 70_000);
    assert.deepEqual(await alive(), [1, 3, 4]);
    assert.equal((await conversations.findOne({ chatId: 4 }))?.expiresAt, "never");
    await store.close();
  });

  it("keeps purged documents out of the file, and expires documents read back from it", async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "kamihi-ttl-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, "data.json");
    let now = new Date("2026-01-01T00:00:00Z");
    const first = createMemoryStore({ file, now: () => now });
    const codes = first.collection<{ code: string; at: Date }>("codes");
    await codes.createIndex({ keys: { at: 1 }, expireAfterSeconds: 60 });
    await codes.insertMany([
      { code: "old", at: new Date(now.getTime() - 120_000) },
      { code: "soon", at: now },
      { code: "later", at: new Date(now.getTime() + 600_000) },
    ]);
    assert.equal(await codes.countDocuments(), 2, "the old one is purged at once");
    await first.close();

    now = new Date(now.getTime() + 61_000);
    const second = createMemoryStore({ file, now: () => now });
    const reread = second.collection<{ code: string; at: Date }>("codes");
    assert.deepEqual(
      (await reread.find({})).map((c) => c.code),
      ["later"],
    );
    await second.close();
  });
});
