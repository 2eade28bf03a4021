/**
 * The Store conformance suite: what every {@link Store} must do, as `node:test` tests. Kamihi
 * runs it against the embedded store and MongoDB; a third-party store runs it the same way:
 *
 * ```ts
 * import { runStoreConformance } from "@kamihi/db/conformance";
 * runStoreConformance({ name: "my store", createStore: () => createMyStore() });
 * ```
 *
 * @packageDocumentation
 */
import assert from "node:assert/strict";
import { after, before, describe, it, type TestContext } from "node:test";
import { type Document, isKamihiError, literal, type Store } from "@kamihi/core";

const reason =
  "KAMIHI_TEST_MONGODB_URL is not set; start a server with `scripts/mongo-test-server start` and export its URL";

/**
 * The real MongoDB-compatible server of this run (`KAMIHI_TEST_MONGODB_URL`), or the reason
 * to skip. With `KAMIHI_REQUIRE_MONGODB=1` a missing server is an error, never a skip.
 */
export function requiredMongoUrl(): { url?: string; skip?: string } {
  const url = process.env.KAMIHI_TEST_MONGODB_URL;
  if (url !== undefined && url !== "") return { url };
  if (process.env.KAMIHI_REQUIRE_MONGODB === "1") {
    throw new Error(`KAMIHI_REQUIRE_MONGODB=1 but ${reason}`);
  }
  return { skip: reason };
}

/** The server URL for one test, or `undefined` after skipping it with the reason. */
export function mongoTestUrl(t: TestContext): string | undefined {
  const { url, skip } = requiredMongoUrl();
  if (skip !== undefined) t.skip(skip);
  return url;
}

/** A database name no other test run uses, so runs never see each other's documents. */
export function uniqueDbName(prefix: string): string {
  return `${prefix}_${process.pid}_${Date.now().toString(36)}`;
}

/** Options of {@link runStoreConformance}. */
export interface ConformanceOptions {
  /** Shown in the test names. */
  name: string;
  /** A fresh, empty store; connected by the suite and closed after it. */
  createStore: () => Store | Promise<Store>;
  /** Skip the suite with this reason (e.g. no server configured). */
  skip?: string;
}

interface Person extends Document {
  name: string;
  age?: number;
  tags?: string[];
  address?: { city: string; zip?: string };
  telegramId?: number;
  owner?: number | null;
  visits?: number;
  secret?: string;
}

let counter = 0;

/** Registers the conformance tests for one store. */
export function runStoreConformance(options: ConformanceOptions): void {
  describe(`Store conformance: ${options.name}`, { skip: options.skip ?? false }, () => {
    let store: Store;
    const fresh = <T extends Document = Person>() =>
      store.collection<T>(`conf${++counter}_${process.pid}_${Date.now().toString(36)}`);

    before(async () => {
      store = await options.createStore();
      await store.connect();
    });
    after(async () => {
      await store?.close();
    });

    describe("base fields and copies", () => {
      it("fills _id, createdAt and updatedAt on insert, and keeps a given _id", async () => {
        const people = fresh();
        const ada = await people.insertOne({ name: "Ada" });
        assert.equal(typeof ada._id, "string");
        assert.match(ada._id, /^[0-9a-f]{24}$/);
        assert.ok(ada.createdAt instanceof Date);
        assert.ok(ada.updatedAt instanceof Date);
        const grace = await people.insertOne({ _id: "grace", name: "Grace" });
        assert.equal(grace._id, "grace");
        const read = await people.findOne({ _id: "grace" });
        assert.equal(read?.name, "Grace");
        assert.ok(read?.createdAt instanceof Date);
      });

      it("bumps updatedAt on update and keeps createdAt", async () => {
        const people = fresh();
        const ada = await people.insertOne({ name: "Ada" });
        await new Promise((r) => setTimeout(r, 5));
        await people.updateOne({ _id: ada._id }, { $set: { age: 36 } });
        const read = await people.findOne({ _id: ada._id });
        assert.equal(read?.createdAt.getTime(), ada.createdAt.getTime());
        assert.ok((read?.updatedAt.getTime() ?? 0) > ada.updatedAt.getTime());
      });

      it("never aliases documents going in or out", async () => {
        const people = fresh();
        const input: Person = { name: "Ada", tags: ["math"], address: { city: "London" } };
        const stored = await people.insertOne(input);
        input.tags?.push("changed");
        stored.name = "changed";
        stored.address = { city: "changed" };
        const first = await people.findOne({ _id: stored._id });
        assert.deepEqual(first?.tags, ["math"]);
        assert.equal(first?.name, "Ada");
        if (first?.address) first.address.city = "Paris";
        const second = await people.findOne({ _id: stored._id });
        assert.equal(second?.address?.city, "London");
      });

      it("never shares nested objects with the caller, on insert or read", async () => {
        const people = fresh();
        const input: Person = { name: "Ada", tags: ["math"], address: { city: "London" } };
        const [many] = await people.insertMany([{ name: "Grace", tags: ["navy"] }]);
        const stored = await people.insertOne(input);
        assert.notEqual(stored.tags, input.tags);
        stored.tags?.push("changed");
        assert.deepEqual(input.tags, ["math"]);
        many?.tags?.push("changed");
        assert.deepEqual((await people.findOne({ name: "Grace" }))?.tags, ["navy"]);
        assert.deepEqual((await people.findOne({ _id: stored._id }))?.tags, ["math"]);
      });

      it("rejects values it cannot store faithfully", async () => {
        const events = fresh<{ at: Date }>();
        await assert.rejects(events.insertOne({ at: new Date("garbage") }), (err: unknown) =>
          isKamihiError(err, "KAMIHI_DB_INVALID_QUERY"),
        );
        const ok = await events.insertOne({ at: new Date() });
        await assert.rejects(
          events.updateOne({ _id: ok._id }, { $set: { at: new Date(Number.NaN) } }),
          (err: unknown) => isKamihiError(err, "KAMIHI_DB_INVALID_QUERY"),
        );
        assert.equal(await events.countDocuments(), 1);
      });

      it("round-trips dates, nested objects and arrays", async () => {
        const events = fresh<{ at: Date; nested: { list: number[] } }>();
        const at = new Date("2026-01-02T03:04:05.678Z");
        const stored = await events.insertOne({ at, nested: { list: [1, 2, 3] } });
        const read = await events.findOne({ _id: stored._id });
        assert.ok(read?.at instanceof Date);
        assert.equal(read?.at.toISOString(), at.toISOString());
        assert.deepEqual(read?.nested, { list: [1, 2, 3] });
      });
    });

    describe("reads", () => {
      async function seeded() {
        const people = fresh();
        await people.insertMany([
          { name: "Ada", age: 36, tags: ["math", "poetry"], address: { city: "London" } },
          { name: "Grace", age: 85, tags: ["navy"], address: { city: "Arlington" } },
          { name: "Alan", age: 41, tags: ["math"], address: { city: "London" } },
          { name: "Edsger", age: 72 },
        ]);
        return people;
      }

      it("finds by equality, operators, dotted paths and array elements", async () => {
        const people = await seeded();
        assert.equal((await people.find({ name: "Ada" })).length, 1);
        assert.deepEqual(
          (await people.find({ age: { $gte: 41 } }, { sort: { age: 1 } })).map((p) => p.name),
          ["Alan", "Edsger", "Grace"],
        );
        assert.equal((await people.find({ "address.city": "London" })).length, 2);
        assert.equal((await people.find({ tags: "math" })).length, 2);
        assert.equal((await people.find({ name: { $in: ["Ada", "Grace", "Nobody"] } })).length, 2);
        assert.equal((await people.find({ address: { $exists: false } })).length, 1);
        assert.equal((await people.find({ $or: [{ name: "Ada" }, { age: 85 }] })).length, 2);
        assert.equal((await people.find({ name: { $regex: "^a", $options: "i" } })).length, 2);
        assert.equal((await people.find()).length, 4);
        assert.equal(await people.findOne({ name: "Nobody" }), null);
      });

      it("sorts, skips, limits and projects", async () => {
        const people = await seeded();
        const page = await people.find({}, { sort: { age: -1 }, skip: 1, limit: 2 });
        assert.deepEqual(
          page.map((p) => p.name),
          ["Edsger", "Alan"],
        );
        const names = await people.find({}, { sort: { name: 1 }, projection: { name: 1 } });
        assert.deepEqual(
          names.map((p) => p.name),
          ["Ada", "Alan", "Edsger", "Grace"],
        );
        assert.ok(names.every((p) => p.age === undefined && typeof p._id === "string"));
        const noTags = await people.findOne({ name: "Ada" }, { projection: { tags: 0 } });
        assert.equal(noTags?.tags, undefined);
        assert.equal(noTags?.age, 36);
        const oldest = await people.findOne({}, { sort: { age: -1 } });
        assert.equal(oldest?.name, "Grace");
      });

      it("counts", async () => {
        const people = await seeded();
        assert.equal(await people.countDocuments(), 4);
        assert.equal(await people.countDocuments({ "address.city": "London" }), 2);
        assert.equal(await people.countDocuments({ name: "Nobody" }), 0);
      });
    });

    describe("updates", () => {
      it("supports $set (with dotted paths), $unset and $inc", async () => {
        const people = fresh();
        const ada = await people.insertOne({ name: "Ada", age: 36, address: { city: "London" } });
        const result = await people.updateOne(
          { _id: ada._id },
          { $set: { "address.zip": "N1" }, $unset: { age: true }, $inc: { visits: 2 } },
        );
        assert.deepEqual(result, { matchedCount: 1, modifiedCount: 1, upsertedId: null });
        await people.updateOne({ _id: ada._id }, { $inc: { visits: 3 } });
        const read = await people.findOne({ _id: ada._id });
        assert.deepEqual(read?.address, { city: "London", zip: "N1" });
        assert.equal(read?.age, undefined);
        assert.equal(read?.visits, 5);
      });

      it("supports $push, $pull and $addToSet", async () => {
        const people = fresh();
        const ada = await people.insertOne({ name: "Ada", tags: ["math"] });
        await people.updateOne({ _id: ada._id }, { $push: { tags: "poetry" } });
        await people.updateOne({ _id: ada._id }, { $addToSet: { tags: "math" } });
        await people.updateOne({ _id: ada._id }, { $addToSet: { tags: "engines" } });
        assert.deepEqual((await people.findOne({ _id: ada._id }))?.tags, [
          "math",
          "poetry",
          "engines",
        ]);
        await people.updateOne({ _id: ada._id }, { $pull: { tags: "math" } });
        assert.deepEqual((await people.findOne({ _id: ada._id }))?.tags, ["poetry", "engines"]);
        await people.updateOne({ _id: ada._id }, { $pull: { tags: "engines" } });
        assert.deepEqual((await people.findOne({ _id: ada._id }))?.tags, ["poetry"]);
      });

      it("updates one or many and reports counts", async () => {
        const people = fresh();
        await people.insertMany([
          { name: "A", age: 1 },
          { name: "B", age: 1 },
          { name: "C", age: 2 },
        ]);
        const one = await people.updateOne({ age: 1 }, { $set: { owner: 7 } });
        assert.equal(one.matchedCount, 1);
        const many = await people.updateMany({ age: 1 }, { $set: { owner: 8 } });
        assert.equal(many.matchedCount, 2);
        assert.equal(many.modifiedCount, 2);
        assert.equal(await people.countDocuments({ owner: 8 }), 2);
        const none = await people.updateMany({ age: 99 }, { $set: { owner: 9 } });
        assert.deepEqual(none, { matchedCount: 0, modifiedCount: 0, upsertedId: null });
      });

      it("upserts from the filter's equalities, with $setOnInsert only on insert", async () => {
        const people = fresh();
        const inserted = await people.updateOne(
          { telegramId: 42 },
          { $set: { name: "Ada" }, $setOnInsert: { visits: 0 } },
          { upsert: true },
        );
        assert.equal(inserted.matchedCount, 0);
        assert.equal(typeof inserted.upsertedId, "string");
        const read = await people.findOne({ telegramId: 42 });
        assert.equal(read?._id, inserted.upsertedId);
        assert.equal(read?.name, "Ada");
        assert.equal(read?.visits, 0);
        assert.ok(read?.createdAt instanceof Date);
        const again = await people.updateOne(
          { telegramId: 42 },
          { $set: { name: "Ada L." }, $setOnInsert: { visits: 100 } },
          { upsert: true },
        );
        assert.equal(again.matchedCount, 1);
        assert.equal(again.upsertedId, null);
        const updated = await people.findOne({ telegramId: 42 });
        assert.equal(updated?.name, "Ada L.");
        assert.equal(updated?.visits, 0);
        assert.equal(updated?.createdAt.getTime(), read?.createdAt.getTime());
        assert.equal(await people.countDocuments(), 1);
      });

      it("findOneAndUpdate returns the document before or after, upserts, or null", async () => {
        const people = fresh();
        const ada = await people.insertOne({ name: "Ada", visits: 1 });
        const after = await people.findOneAndUpdate({ _id: ada._id }, { $inc: { visits: 1 } });
        assert.equal(after?.visits, 2);
        const beforeDoc = await people.findOneAndUpdate(
          { _id: ada._id },
          { $inc: { visits: 1 } },
          { returnDocument: "before" },
        );
        assert.equal(beforeDoc?.visits, 2);
        assert.equal((await people.findOne({ _id: ada._id }))?.visits, 3);
        assert.equal(
          await people.findOneAndUpdate({ name: "Nobody" }, { $set: { visits: 1 } }),
          null,
        );
        const created = await people.findOneAndUpdate(
          { name: "Grace" },
          { $set: { visits: 1 } },
          { upsert: true },
        );
        assert.equal(created?.name, "Grace");
        assert.equal(typeof created?._id, "string");
        const first = await people.findOneAndUpdate(
          {},
          { $set: { owner: 1 } },
          { sort: { name: -1 } },
        );
        assert.equal(first?.name, "Grace");
      });

      it("gives exactly one winner to concurrent conditional updates of one document", async () => {
        const leases = fresh<{ job: string; owner: number | null }>();
        for (let round = 0; round < 5; round++) {
          await leases.deleteMany({});
          await leases.insertOne({ _id: "lease", job: "report", owner: null });
          const attempts = await Promise.all(
            Array.from({ length: 20 }, (_, i) =>
              leases.findOneAndUpdate({ _id: "lease", owner: null }, { $set: { owner: i + 1 } }),
            ),
          );
          const winners = attempts.filter((doc) => doc !== null);
          assert.equal(winners.length, 1, `round ${round}: findOneAndUpdate winners`);
          assert.equal((await leases.findOne({ _id: "lease" }))?.owner, winners[0]?.owner);

          await leases.updateOne({ _id: "lease" }, { $set: { owner: null } });
          const updates = await Promise.all(
            Array.from({ length: 20 }, (_, i) =>
              leases.updateOne({ _id: "lease", owner: null }, { $set: { owner: 100 + i } }),
            ),
          );
          assert.equal(
            updates.reduce((sum, r) => sum + r.modifiedCount, 0),
            1,
            `round ${round}: updateOne winners`,
          );
        }
      });

      it("never loses a single-document update that races an updateMany on the same documents", async () => {
        const members = fresh<{ group: string; tags: string[]; seen: number }>();
        for (let round = 0; round < 10; round++) {
          await members.deleteMany({});
          await members.insertMany(
            Array.from({ length: 5 }, (_, i) => ({
              _id: `m${i}`,
              group: "g",
              tags: ["old", "keep"],
              seen: 0,
            })),
          );
          await Promise.all([
            members.updateMany({ tags: "old" }, { $pull: { tags: "old" } }),
            ...Array.from({ length: 5 }, (_, i) =>
              members.updateOne({ _id: `m${i}` }, { $inc: { seen: 1 } }),
            ),
          ]);
          for (const doc of await members.find({}, { sort: { _id: 1 } })) {
            assert.deepEqual([doc.tags, doc.seen], [["keep"], 1], `round ${round}: ${doc._id}`);
          }
        }
      });

      it("rejects updates that are not operator documents, or use unsupported operators", async () => {
        const people = fresh();
        await people.insertOne({ name: "Ada" });
        for (const bad of [{ name: "x" }, { $rename: { name: "n" } }, {}]) {
          await assert.rejects(people.updateOne({ name: "Ada" }, bad as never), (err: unknown) =>
            isKamihiError(err, "KAMIHI_DB_INVALID_QUERY"),
          );
        }
        assert.equal((await people.findOne({ name: "Ada" }))?.name, "Ada");
      });
    });

    describe("deletes", () => {
      it("deletes one or many", async () => {
        const people = fresh();
        await people.insertMany([
          { name: "A", age: 1 },
          { name: "B", age: 1 },
          { name: "C", age: 2 },
        ]);
        assert.deepEqual(await people.deleteOne({ age: 1 }), { deletedCount: 1 });
        assert.equal(await people.countDocuments(), 2);
        assert.deepEqual(await people.deleteMany({ age: { $lte: 2 } }), { deletedCount: 2 });
        assert.deepEqual(await people.deleteOne({ age: 1 }), { deletedCount: 0 });
      });
    });

    describe("indexes", () => {
      it("creates indexes idempotently", async () => {
        const people = fresh();
        const first = await people.createIndex({ keys: { telegramId: 1 }, unique: true });
        const second = await people.createIndex({ keys: { telegramId: 1 }, unique: true });
        assert.equal(first, "telegramId_1");
        assert.equal(second, first);
      });

      it("treats an index declared again with options in another order as the same", async () => {
        const people = fresh();
        await people.createIndex({ keys: { telegramId: 1 }, unique: true });
        assert.equal(
          await people.createIndex({ unique: true, keys: { telegramId: 1 } }),
          "telegramId_1",
        );
      });

      it("rejects a duplicate of a unique key with KAMIHI_DB_DUPLICATE_KEY naming the key", async () => {
        const people = fresh();
        await people.createIndex({ keys: { telegramId: 1 }, unique: true });
        await people.insertOne({ name: "Ada", telegramId: 42 });
        await assert.rejects(
          people.insertOne({ name: "Impostor", telegramId: 42 }),
          (err: unknown) => {
            assert.ok(isKamihiError(err, "KAMIHI_DB_DUPLICATE_KEY"), String(err));
            assert.match(err.message, /telegramId/);
            assert.match(err.message, /42/);
            return true;
          },
        );
        const other = await people.insertOne({ name: "Grace", telegramId: 43 });
        await assert.rejects(
          people.updateOne({ _id: other._id }, { $set: { telegramId: 42 } }),
          (err: unknown) => isKamihiError(err, "KAMIHI_DB_DUPLICATE_KEY"),
        );
        await assert.rejects(
          people.insertOne({ _id: other._id, name: "Same id", telegramId: 44 }),
          (err: unknown) => isKamihiError(err, "KAMIHI_DB_DUPLICATE_KEY"),
        );
        assert.equal(await people.countDocuments(), 2);
      });

      it("hides documents past their TTL, whether or not the backend removed them yet", async () => {
        const sessions = fresh<{ chatId: number; expiresAt: Date }>();
        await sessions.createIndex({ keys: { expiresAt: 1 }, expireAfterSeconds: 0 });
        await sessions.createIndex({ keys: { chatId: 1 }, unique: true });
        const past = new Date(Date.now() - 60_000);
        const future = new Date(Date.now() + 3_600_000);
        const stale = await sessions.insertOne({ chatId: 1, expiresAt: past });
        await sessions.insertOne({ chatId: 2, expiresAt: future });
        assert.deepEqual(
          (await sessions.find()).map((s) => s.chatId),
          [2],
        );
        assert.equal(await sessions.findOne({ _id: stale._id }), null);
        assert.equal(await sessions.countDocuments(), 1);
        assert.deepEqual(await sessions.updateOne({ chatId: 1 }, { $set: { expiresAt: future } }), {
          matchedCount: 0,
          modifiedCount: 0,
          upsertedId: null,
        });
        // The expired holder of chatId 1 does not block a new one.
        const fresh1 = await sessions.insertOne({ chatId: 1, expiresAt: future });
        assert.equal((await sessions.findOne({ chatId: 1 }))?._id, fresh1._id);
        // Nor a batch insert, which keeps the documents before the clash exactly once.
        await sessions.insertOne({ chatId: 5, expiresAt: past });
        await sessions.insertMany([
          { chatId: 4, expiresAt: future },
          { chatId: 5, expiresAt: future },
          { chatId: 6, expiresAt: future },
        ]);
        assert.deepEqual(
          (await sessions.find({ chatId: { $gte: 4 } }, { sort: { chatId: 1 } })).map(
            (s) => s.chatId,
          ),
          [4, 5, 6],
        );
        await sessions.deleteMany({ chatId: { $gte: 4 } });
        // Nor an upsert.
        await sessions.insertOne({ chatId: 3, expiresAt: past });
        await sessions.updateOne({ chatId: 3 }, { $set: { expiresAt: future } }, { upsert: true });
        assert.equal(await sessions.countDocuments(), 3);
      });
    });

    describe("input safety", () => {
      it("never lets outside input act as an operator", async () => {
        const people = fresh();
        await people.insertMany([{ name: "Ada" }, { name: "Grace" }]);
        // Typed as a string, as a form field would be, but an object at run time.
        const typed = JSON.parse('{ "$gt": "" }') as string;
        await assert.rejects(
          async () => people.find({ name: literal(typed) }),
          (err: unknown) => isKamihiError(err, "KAMIHI_DB_INVALID_QUERY"),
        );
        assert.deepEqual(await people.find({ name: literal("$gt") }), []);
        assert.equal((await people.find({ name: literal("Ada") })).length, 1);
      });
    });
  });
}
