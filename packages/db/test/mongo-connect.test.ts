import assert from "node:assert/strict";
import { createServer, type Socket } from "node:net";
import { describe, it } from "node:test";
import { isKamihiError } from "@kamihi/core";
import { MongoServerError } from "mongodb";
import { mongoTestUrl, uniqueDbName } from "../src/conformance.js";
import { connectWithin, openClient, refusedCredentials } from "../src/mongo/connect.js";
import { scrubPassword } from "../src/mongo/redact.js";
import type { StartTimer } from "../src/mongo/time-limit.js";

/** A {@link StartTimer} fired by hand: every limit started, and whether it was cancelled. */
function handTimer() {
  const started: Array<{ ms: number; expire: () => void; cancelled: boolean }> = [];
  const timer: StartTimer = (ms, expire) => {
    const limit = { ms, expire, cancelled: false };
    started.push(limit);
    return () => {
      limit.cancelled = true;
    };
  };
  return { timer, started };
}

/** A TCP server that accepts connections and never answers: a hung database. */
async function blackHole() {
  const sockets = new Set<Socket>();
  let accepted!: () => void;
  const firstConnection = new Promise<void>((resolve) => {
    accepted = resolve;
  });
  let drained: (() => void) | undefined;
  const server = createServer((socket) => {
    sockets.add(socket);
    accepted();
    socket.on("close", () => {
      sockets.delete(socket);
      if (sockets.size === 0) drained?.();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as { port: number }).port,
    firstConnection,
    /** Resolves once every connection made to it is closed. */
    allClosed: () =>
      sockets.size === 0
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            drained = resolve;
          }),
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe("connecting to MongoDB within the start-up time limit", () => {
  // The timeout only bounds a regression that would leave the driver's socket open.
  it("gives up when its limit runs out on a server that never answers, and lets go of it", {
    timeout: 20_000,
  }, async () => {
    const hole = await blackHole();
    const url = `mongodb://ada:hunter2@127.0.0.1:${hole.port}/?authSource=admin`;
    // The driver's own timeouts are a minute away: only Kamihi's limit can end this.
    const { client, db } = openClient({ url, dbName: "kamihi", connectTimeoutMs: 60_000 });
    const limits = handTimer();
    let now = 1_000;
    const connecting = connectWithin(client, db, {
      url,
      connectTimeoutMs: 60_000,
      detectServer: true,
      timer: limits.timer,
      clock: () => now,
    });
    await hole.firstConnection;
    const [connectLimit] = limits.started;
    assert.equal(connectLimit?.ms, 61_000, "connecting gets the limit plus a second");
    now += 61_000;
    connectLimit.expire();
    await assert.rejects(connecting, (err: unknown) => {
      assert.ok(isKamihiError(err, "KAMIHI_DB_UNREACHABLE"), String(err));
      assert.match(
        err.message,
        new RegExp(
          `^Could not reach MongoDB at mongodb://ada:\\*\\*\\*@127\\.0\\.0\\.1:${hole.port}/\\?authSource=admin within 60s \\(no answer to connect within 61000 ms\\)\\. Start MongoDB or check db\\.url`,
        ),
      );
      assert.ok(!JSON.stringify({ ...err, message: err.message }).includes("hunter2"));
      assert.equal(err.details.waitedMs, 61_000);
      return true;
    });
    await hole.allClosed();
    await hole.close();
  });

  it("connects, pings and asks what the server is, each step limited and no limit left running", async (t) => {
    const url = mongoTestUrl(t);
    if (url === undefined) return;
    const { client, db } = openClient({
      url,
      dbName: uniqueDbName("kamihi_connect"),
      connectTimeoutMs: 5000,
    });
    try {
      const limits = handTimer();
      const server = await connectWithin(client, db, {
        url,
        connectTimeoutMs: 5000,
        detectServer: true,
        timer: limits.timer,
      });
      const info = await db.admin().command({ buildInfo: 1 });
      assert.equal(server.ferretdb, info.ferretdbVersion !== undefined);
      assert.deepEqual(
        limits.started.map((limit) => [limit.ms, limit.cancelled]),
        [
          [6000, true],
          [5000, true],
          [5000, true],
        ],
      );
    } finally {
      await client.close();
    }
  });

  it("does not ask what the server is when the caller already decided", async (t) => {
    const url = mongoTestUrl(t);
    if (url === undefined) return;
    const { client, db } = openClient({
      url,
      dbName: uniqueDbName("kamihi_connect"),
      connectTimeoutMs: 5000,
    });
    try {
      const limits = handTimer();
      const server = await connectWithin(client, db, {
        url,
        connectTimeoutMs: 5000,
        detectServer: false,
        timer: limits.timer,
      });
      assert.equal(server.ferretdb, undefined);
      assert.equal(limits.started.length, 2, "connect and ping only");
    } finally {
      await client.close();
    }
  });

  it("refuses a malformed connection string before connecting, password hidden", () => {
    assert.throws(
      () =>
        openClient({
          url: "mongodb://ada:s3cret@db:27017/?w=1&w=2&bogus=",
          dbName: "kamihi",
          connectTimeoutMs: 1000,
        }),
      (err: unknown) => {
        assert.ok(isKamihiError(err, "KAMIHI_CONFIG_INVALID"), String(err));
        assert.ok(!err.message.includes("s3cret"), err.message);
        assert.equal(err.details.url, "mongodb://ada:***@db:27017/?w=1&w=2&bogus=");
        return true;
      },
    );
  });
});

describe("a driver message without the connection string's password", () => {
  it("shows the URL redacted, and masks the password wherever else it appears", () => {
    const url = "mongodb://ada:hunter2@db.example:27017/kamihi";
    assert.equal(
      scrubPassword(url, `failed to connect to ${url}: password hunter2 rejected`),
      "failed to connect to mongodb://ada:***@db.example:27017/kamihi: password *** rejected",
    );
  });

  it("masks a user-only credential, and leaves a URL without credentials alone", () => {
    assert.equal(scrubPassword("mongodb://token@db/", "token token"), "*** ***");
    assert.equal(
      scrubPassword("mongodb://db:27017/", "no route to db:27017"),
      "no route to db:27017",
    );
  });
});

describe("refused credentials", () => {
  // No server here refuses a login (FerretDB runs on PostgreSQL with trust authentication), so
  // the driver's own error classes stand in for its answer.
  it("tells MongoDB's AuthenticationFailed from a server that cannot be reached", () => {
    const refused = new MongoServerError({
      ok: 0,
      code: 18,
      codeName: "AuthenticationFailed",
      errmsg: "Authentication failed.",
    });
    assert.equal(refusedCredentials(refused), true);
    assert.equal(refusedCredentials(new Error("wrapped", { cause: refused })), true);
    const unreachable = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), {
      name: "MongoServerSelectionError",
    });
    assert.equal(refusedCredentials(unreachable), false);
    assert.equal(refusedCredentials("not an error"), false);
  });

  it("raises KAMIHI_DB_AUTH_FAILED with the password hidden, and closes the client", async () => {
    let closed = false;
    const client = {
      connect: async () => {
        throw new MongoServerError({
          ok: 0,
          code: 18,
          codeName: "AuthenticationFailed",
          errmsg: "Authentication failed.",
        });
      },
      close: async () => {
        closed = true;
      },
    } as unknown as Parameters<typeof connectWithin>[0];
    await assert.rejects(
      connectWithin(client, {} as Parameters<typeof connectWithin>[1], {
        url: "mongodb://ada:hunter2@db.example:27017/?authSource=admin",
        connectTimeoutMs: 1000,
        detectServer: false,
      }),
      (error: unknown) => {
        assert.ok(isKamihiError(error, "KAMIHI_DB_AUTH_FAILED"));
        assert.match(error.message, /mongodb:\/\/ada:\*\*\*@db\.example:27017/);
        assert.ok(!error.message.includes("hunter2"));
        return true;
      },
    );
    assert.equal(closed, true);
  });
});
