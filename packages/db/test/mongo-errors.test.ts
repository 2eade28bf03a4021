import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { isKamihiError, KamihiError } from "@kamihi/core";
import { type Db, MongoClient } from "mongodb";
import { requiredMongoUrl, uniqueDbName } from "../src/conformance.js";
import {
  isDuplicateError,
  isMissingCollection,
  isTtlUnsupported,
  translateError,
} from "../src/mongo/errors.js";
import { scrubPassword } from "../src/mongo/redact.js";

const scrub = (text: string) => scrubPassword("mongodb://ada:hunter2@db.example/", text);

/** The error a driver call rejects with (fails the test if it succeeds). */
async function failure(call: () => Promise<unknown>): Promise<unknown> {
  try {
    await call();
  } catch (error) {
    return error;
  }
  assert.fail("the server accepted it");
}

const server = requiredMongoUrl();

describe("driver errors mapped to Kamihi's codes, against a real server", {
  skip: server.skip ?? false,
}, () => {
  let client: MongoClient;
  let db: Db;
  before(() => {
    client = new MongoClient(server.url as string);
    db = client.db(uniqueDbName("kamihi_errors"));
  });
  after(async () => {
    await db.dropDatabase();
    await client.close();
  });

  it("a unique clash on insert is KAMIHI_DB_DUPLICATE_KEY, keeping the driver's error", async () => {
    const raw = db.collection<{ _id: string }>("kamihi_insert");
    await raw.insertOne({ _id: "a" });
    const error = await failure(() => raw.insertOne({ _id: "a" }));
    assert.ok(isDuplicateError(error));
    const mapped = translateError("kamihi_insert", "insertOne", error, scrub);
    assert.ok(isKamihiError(mapped, "KAMIHI_DB_DUPLICATE_KEY"), String(mapped));
    assert.equal(mapped.details.collection, "kamihi_insert");
    assert.equal(mapped.cause, error);
  });

  it("a unique clash on update is KAMIHI_DB_DUPLICATE_KEY too, however the server words it", async () => {
    const raw = db.collection<{ k: number }>("kamihi_update");
    await raw.createIndex({ k: 1 }, { unique: true });
    await raw.insertMany([{ k: 1 }, { k: 2 }]);
    const error = await failure(() => raw.updateOne({ k: 2 }, { $set: { k: 1 } }));
    assert.ok(isDuplicateError(error), String(error));
    const mapped = translateError("kamihi_update", "updateOne", error, scrub);
    assert.ok(isKamihiError(mapped, "KAMIHI_DB_DUPLICATE_KEY"), String(mapped));
  });

  it("an update the server finds malformed is KAMIHI_DB_INVALID_QUERY", async () => {
    const raw = db.collection<{ a?: number }>("kamihi_shape");
    await raw.insertOne({ a: 1 });
    const error = await failure(() => raw.updateOne({}, { $set: { a: 2 }, $unset: { a: 1 } }));
    assert.ok(!isDuplicateError(error));
    const mapped = translateError("kamihi_shape", "updateOne", error, scrub);
    assert.ok(isKamihiError(mapped, "KAMIHI_DB_INVALID_QUERY"), String(mapped));
    assert.match(mapped.message, /^MongoDB rejected updateOne on kamihi_shape: /);
    assert.deepEqual(mapped.details, { collection: "kamihi_shape", operation: "updateOne" });
  });

  it("any other server error is KAMIHI_DB_OPERATION_FAILED, saying the connection recovers", async () => {
    const error = await failure(() => db.command({ kamihiNoSuchCommand: 1 }));
    const mapped = translateError("admin", "ping", error, scrub);
    assert.ok(isKamihiError(mapped, "KAMIHI_DB_OPERATION_FAILED"), String(mapped));
    assert.match(
      mapped.message,
      /^MongoDB could not run ping on admin: .*kamihiNoSuchCommand.*the connection recovers by itself\.$/,
    );
  });

  it("tells a missing collection, and a refused TTL index, from other errors", async (t) => {
    const missing = await failure(() => db.collection("kamihi_never_made").listIndexes().toArray());
    assert.ok(isMissingCollection(missing), String(missing));
    assert.ok(!isMissingCollection(new Error("ns does not exist")), "only the server's own error");
    const ttl = await db
      .collection("kamihi_ttl")
      .createIndex({ at: 1 }, { expireAfterSeconds: 60 })
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    if (ttl === undefined) return t.skip("the server runs TTL indexes");
    assert.ok(isTtlUnsupported(ttl), String(ttl));
    assert.ok(!isTtlUnsupported(missing));
  });
});

describe("driver errors without a server", () => {
  it("never show the connection string's password", () => {
    const error = new Error("authentication to mongodb://ada:hunter2@db.example/ failed: hunter2");
    const mapped = translateError("kamihi_users", "find", error, scrub);
    assert.ok(isKamihiError(mapped, "KAMIHI_DB_OPERATION_FAILED"));
    assert.ok(!mapped.message.includes("hunter2"), mapped.message);
    assert.match(mapped.message, /mongodb:\/\/ada:\*\*\*@db\.example\/ failed: \*\*\*/);
  });

  it("pass Kamihi's own errors through as they are", () => {
    const own = new KamihiError("KAMIHI_DB_INVALID_QUERY", "A filter must be an object");
    assert.equal(translateError("kamihi_users", "find", own, scrub), own);
  });
});
