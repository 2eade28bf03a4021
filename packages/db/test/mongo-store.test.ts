import assert from "node:assert/strict";
import { createServer, type Server, Socket } from "node:net";
import { after, describe, it } from "node:test";
import { isKamihiError } from "@kamihi/core";
import type { Db } from "mongodb";
import { mongoTestUrl, uniqueDbName } from "../src/conformance.js";
import { createMongoStore } from "../src/index.js";
import { recordingLogger } from "./recording-logger.js";

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

/** A TCP server that accepts connections and never answers: a hung database. */
async function blackHole(): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => sockets.add(socket));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A TCP proxy to the test server that can be cut and restored: an outage on demand. */
function proxy(target: URL, port: number) {
  let server: Server | undefined;
  const sockets = new Set<Socket>();
  return {
    async start() {
      server = createServer((client) => {
        const upstream = new Socket();
        upstream.connect(Number(target.port), target.hostname);
        sockets.add(client).add(upstream);
        client.pipe(upstream).pipe(client);
        const drop = () => {
          client.destroy();
          upstream.destroy();
        };
        client.on("error", drop).on("close", drop);
        upstream.on("error", drop).on("close", drop);
      });
      await new Promise<void>((resolve) => server?.listen(port, "127.0.0.1", resolve));
    },
    async stop() {
      for (const socket of sockets) socket.destroy();
      sockets.clear();
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    },
  };
}

describe("MongoDB store start-up", () => {
  it("fails within the bound on a closed port with KAMIHI_DB_UNREACHABLE, credentials hidden", async () => {
    const port = await freePort();
    const store = createMongoStore({
      url: `mongodb://ada:hunter2@127.0.0.1:${port}/?authSource=admin`,
      dbName: "kamihi",
      connectTimeoutMs: 1000,
    });
    const started = Date.now();
    await assert.rejects(store.connect(), (err: unknown) => {
      assert.ok(isKamihiError(err, "KAMIHI_DB_UNREACHABLE"), String(err));
      assert.ok(!err.message.includes("hunter2"));
      assert.ok(!JSON.stringify(err).includes("hunter2"));
      assert.match(
        err.message,
        new RegExp(
          `Could not reach MongoDB at mongodb://ada:\\*\\*\\*@127\\.0\\.0\\.1:${port}/\\?authSource=admin within 1s`,
        ),
      );
      assert.match(err.message, /set db\.url to memory:\/\//);
      return true;
    });
    // The bound is the contract: a second of selection time plus slack, never the driver's 30 s.
    assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
    await store.close();
  });

  it("rejects a malformed connection string with a typed error, password hidden", () => {
    assert.throws(
      () =>
        createMongoStore({ url: "mongodb://ada:p@ss@db:27017/?w=1&w=2&bogus=", dbName: "kamihi" }),
      (err: unknown) => {
        assert.ok(isKamihiError(err, "KAMIHI_CONFIG_INVALID"), String(err));
        assert.ok(!err.message.includes("p@ss"));
        assert.match(err.message, /Percent-encode/);
        return true;
      },
    );
  });

  it("fails within the bound when the server accepts connections but never answers", async () => {
    const hole = await blackHole();
    const store = createMongoStore({
      url: `mongodb://127.0.0.1:${hole.port}`,
      dbName: "kamihi",
      connectTimeoutMs: 1000,
    });
    const started = Date.now();
    await assert.rejects(store.connect(), (err: unknown) =>
      isKamihiError(err, "KAMIHI_DB_UNREACHABLE"),
    );
    assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
    await store.close();
    await hole.close();
  });
});

describe("MongoDB store at run time", () => {
  const stores: Array<{ close(): Promise<void> }> = [];
  after(async () => {
    for (const store of stores) await store.close();
  });

  it("connects lazily on first use and exposes the driver's Db", async (t) => {
    const url = mongoTestUrl(t);
    if (url === undefined) return;
    const store = createMongoStore({ url, dbName: uniqueDbName("kamihi_lazy") });
    stores.push(store);
    const notes = store.collection<{ text: string }>("notes");
    await notes.insertOne({ text: "hi" });
    const db = store.raw() as Db;
    assert.equal(await db.collection("kamihi_notes").countDocuments(), 1);
    await store.ping();
    await db.dropDatabase();
  });

  it("creates declared indexes at start-up", async (t) => {
    const url = mongoTestUrl(t);
    if (url === undefined) return;
    const store = createMongoStore({
      url,
      dbName: uniqueDbName("kamihi_indexes"),
      indexes: { users: [{ keys: { telegramId: 1 }, unique: true }] },
    });
    stores.push(store);
    await store.connect();
    const db = store.raw() as Db;
    const names = (await db.collection("kamihi_users").listIndexes().toArray()).map((i) => i.name);
    assert.ok(names.includes("telegramId_1"), String(names));
    await db.dropDatabase();
  });

  it("fails operations during an outage with a typed error, then recovers by itself", async (t) => {
    const url = mongoTestUrl(t);
    if (url === undefined) return;
    const port = await freePort();
    const link = proxy(new URL(url), port);
    await link.start();
    const store = createMongoStore({
      url: `mongodb://127.0.0.1:${port}/`,
      dbName: uniqueDbName("kamihi_outage"),
      connectTimeoutMs: 1000,
      operationTimeoutMs: 3000,
    });
    stores.push(store);
    const notes = store.collection<{ n: number }>("notes");
    await notes.insertOne({ n: 1 });

    await link.stop();
    const started = Date.now();
    await assert.rejects(notes.countDocuments(), (err: unknown) => {
      assert.ok(isKamihiError(err, "KAMIHI_DB_OPERATION_FAILED"), String(err));
      assert.match(err.message, /MongoDB could not run countDocuments on kamihi_notes/);
      return true;
    });
    assert.ok(Date.now() - started < 6000, `took ${Date.now() - started} ms`);

    await link.start();
    assert.equal(await notes.countDocuments(), 1);
    await (store.raw() as Db).dropDatabase();
    await link.stop();
  });

  it("hides expired documents, and starts its own sweeps, when the server has no TTL indexes", async (t) => {
    const url = mongoTestUrl(t);
    if (url === undefined) return;
    const log = recordingLogger();
    const store = createMongoStore({ url, dbName: uniqueDbName("kamihi_ttl"), logger: log });
    stores.push(store);
    const codes = store.collection<{ at: Date }>("codes");
    await codes.createIndex({ keys: { at: 1 }, expireAfterSeconds: 0 });
    const db = store.raw() as Db;
    const index = (await db.collection("kamihi_codes").listIndexes().toArray()).find(
      (i) => i.name === "at_1",
    );
    if (typeof index?.expireAfterSeconds === "number") {
      t.skip("the server runs TTL indexes itself");
      return;
    }
    assert.match(await log.next("warn"), /does not support TTL indexes; Kamihi hides expired/);
    await codes.insertOne({ at: new Date(Date.now() - 1000) });
    assert.equal(await codes.countDocuments(), 0, "hidden at once");
    assert.equal(await db.collection("kamihi_codes").countDocuments(), 1, "until a sweep");
    // The sweep itself is tested with a hand-ticked timer in mongo-ttl.test.ts.
    await db.dropDatabase();
  });
});
