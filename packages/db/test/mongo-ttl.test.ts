import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type Db, MongoClient } from "mongodb";
import { requiredMongoUrl, uniqueDbName } from "../src/conformance.js";
import { ensureIndex } from "../src/mongo/indexes.js";
import { createTtlRules } from "../src/mongo/ttl.js";
import { handTicked } from "./hand-ticked.js";
import { recordingLogger } from "./recording-logger.js";

const server = requiredMongoUrl();
const T = Date.parse("2030-01-01T00:00:00.000Z");
const at = (secondsFromT: number) => new Date(T + secondsFromT * 1000);

describe("TTL rules over a real server, on an injected clock", {
  skip: server.skip ?? false,
}, () => {
  let client: MongoClient;
  let db: Db;
  before(() => {
    client = new MongoClient(server.url as string);
    db = client.db(uniqueDbName("kamihi_ttl_rules"));
  });
  after(async () => {
    await db.dropDatabase();
    await client.close();
  });

  /** A collection with a 60 s TTL index on `at` and a unique `code`, and its rules. */
  async function setUp(name: string) {
    let now = T;
    const sweeps = handTicked();
    const log = recordingLogger();
    const ttl = createTtlRules(db, {
      sweepIntervalMs: 1234,
      logger: log,
      repeat: sweeps.repeat,
      clock: () => now,
    });
    await ensureIndex(db, name, { keys: { at: 1 }, expireAfterSeconds: 60 }, ttl);
    await ensureIndex(db, name, { keys: { code: 1 }, unique: true }, ttl);
    const raw = db.collection<{ code: string; at: Date }>(name);
    await raw.insertMany([
      { code: "old", at: at(-61) },
      { code: "fresh", at: at(-59) },
    ]);
    return {
      ttl,
      raw,
      sweeps,
      log,
      setNow: (ms: number) => {
        now = ms;
      },
    };
  }

  it("hides what is expired by the clock, from the server's indexes or its own rules", async () => {
    const { ttl, raw, setNow } = await setUp("kamihi_hide");
    const codes = async () =>
      (await raw.find((await ttl.unexpired("kamihi_hide")) ?? {}).toArray()).map((d) => d.code);
    assert.deepEqual(await codes(), ["fresh"]);
    setNow(T + 2_000);
    assert.deepEqual(await codes(), [], "both past their 60 s two seconds later");
    assert.equal(await ttl.unexpired("kamihi_never_made"), undefined, "no rules, no filter");
  });

  it("sweeps expired documents itself, when the server has no TTL indexes", async (t) => {
    const { ttl, raw, sweeps, log } = await setUp("kamihi_sweep");
    if (sweeps.every === undefined) return t.skip("the server runs TTL indexes itself");
    assert.equal(sweeps.every, 1234, "every ttlSweepIntervalMs");
    assert.match(await log.next("warn"), /does not support TTL indexes/);
    await sweeps.tick();
    assert.deepEqual(
      (await raw.find({}).toArray()).map((d) => d.code),
      ["fresh"],
    );
    await ensureIndex(db, "kamihi_sweep", { keys: { seenAt: 1 }, expireAfterSeconds: 5 }, ttl);
    assert.equal(log.lines.filter((line) => line.startsWith("warn")).length, 1, "warned once");
    ttl.stop();
    assert.ok(sweeps.stopped);
  });

  it("lets an expired document's unique key be written again", async () => {
    const { ttl, raw } = await setUp("kamihi_reuse");
    let retried = 0;
    await ttl.retryAfterPurge(
      "kamihi_reuse",
      () => raw.insertOne({ code: "old", at: at(0) }),
      () => retried++,
    );
    assert.equal(retried, 1, "tried once more after the purge");
    assert.deepEqual(
      (await raw.find({}, { sort: { code: 1 } }).toArray()).map((d) => [d.code, d.at.getTime()]),
      [
        ["fresh", at(-59).getTime()],
        ["old", T],
      ],
    );
    await assert.rejects(
      ttl.retryAfterPurge("kamihi_reuse", () => raw.insertOne({ code: "fresh", at: at(0) })),
      (err: unknown) => (err as { code?: number }).code === 11000,
      "a live document still blocks it",
    );
  });
});
