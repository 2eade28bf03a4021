import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MongoClient, MongoServerError } from "mongodb";
import { mongoTestUrl, uniqueDbName } from "../src/conformance.js";

describe("MongoDB-compatible test server", () => {
  it("inserts, finds, and enforces a unique index through the official driver", async (t) => {
    const url = mongoTestUrl(t);
    if (url === undefined) return;
    const client = new MongoClient(url, { serverSelectionTimeoutMS: 5000 });
    await client.connect();
    const db = client.db(uniqueDbName("kamihi_smoke"));
    try {
      const users = db.collection<{ telegramId: number; firstName: string }>("kamihi_users");
      await users.createIndex({ telegramId: 1 }, { unique: true });

      const inserted = await users.insertOne({ telegramId: 42, firstName: "Ada" });
      assert.ok(inserted.acknowledged);

      const found = await users.findOne({ telegramId: 42 });
      assert.equal(found?.firstName, "Ada");
      assert.equal(await users.countDocuments({}), 1);

      await assert.rejects(
        users.insertOne({ telegramId: 42, firstName: "Grace" }),
        (err: unknown) => err instanceof MongoServerError && err.code === 11000,
      );
      assert.equal(await users.countDocuments({}), 1, "the duplicate must not have been stored");
    } finally {
      await db.dropDatabase();
      await client.close();
    }
  });
});
