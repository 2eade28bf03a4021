import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { settingsSchema } from "@kamihi/config";
import { KamihiError, type Settings, type Store, silentLogger } from "@kamihi/core";
import { createMemoryStore } from "@kamihi/db";
import * as v from "valibot";
import { Registry } from "../src/actions.js";
import { compose, composeProject } from "../src/compose.js";
import { Disposers } from "../src/disposers.js";
import { FakeTransport, fakeUsers } from "./fakes.js";
import { LogCapture } from "./helpers.js";

const settings = (input: Record<string, unknown> = {}) =>
  v.parse(settingsSchema, input) as unknown as Settings;
const options = { root: "/project", log: silentLogger, userSchema: undefined };

/** An embedded store that says when it connects and closes. */
function tracedStore(trail: string[]): Store {
  const store = createMemoryStore();
  return Object.assign(Object.create(store) as Store, {
    connect: async () => {
      trail.push("store connect");
      await store.connect();
    },
    close: async () => {
      trail.push("store close");
      await store.close();
    },
    collection: store.collection.bind(store),
  });
}

describe("Disposers", () => {
  it("undoes newest first, goes on past a failure, and only once", async () => {
    const trail: string[] = [];
    const disposers = new Disposers();
    disposers.defer("first", () => trail.push("first"));
    disposers.defer("second", () => {
      throw new Error("stuck");
    });
    disposers.defer("third", async () => {
      trail.push("third");
    });
    const capture = new LogCapture();
    await disposers.close(capture.logger());
    await disposers.close(capture.logger());
    assert.deepEqual(trail, ["third", "first"]);
    assert.deepEqual(
      capture.entries.map((entry) => entry.msg),
      ["second did not close cleanly"],
    );
    assert.equal(disposers.size, 0);
  });
});

describe("compose", () => {
  it("opens each port from its factory with the settings, once, and closes them in reverse", async () => {
    const trail: string[] = [];
    const users = fakeUsers();
    Object.assign(users, { close: async () => trail.push("users close") });
    const runtime = await compose(
      settings({ users: { admins: [4242] } }),
      {
        store: () => tracedStore(trail),
        users: () => users,
        transport: ({ settings: given }) => {
          trail.push(`transport for ${given.tg.mode}`);
          const made = new FakeTransport();
          made.stop = async () => {
            trail.push("transport stop");
          };
          return made;
        },
      },
      { ...options, registry: new Registry(), watch: false, middlewares: [] },
    );
    assert.equal(runtime.me.username, "fakebot", "the bot's identity is known before any update");
    assert.equal(users.users.get(4242)?.isAdmin, true);
    await runtime.disposers.close(silentLogger);
    assert.deepEqual(trail, [
      "store connect",
      "transport for polling",
      "transport stop",
      "users close",
      "store close",
    ]);
  });

  it("closes what it opened when a later piece fails, and leaves given instances open", async () => {
    const trail: string[] = [];
    const transport = new FakeTransport();
    transport.getMe = async () => {
      throw new KamihiError("KAMIHI_TG_UNAUTHORIZED", "The token was refused.");
    };
    await assert.rejects(
      compose(
        settings(),
        { store: () => tracedStore(trail), users: fakeUsers(), transport },
        { ...options, registry: new Registry(), watch: false, middlewares: [] },
      ),
      (error: unknown) => error instanceof KamihiError && error.code === "KAMIHI_TG_UNAUTHORIZED",
    );
    assert.deepEqual(trail, ["store connect", "store close"]);

    const given = tracedStore([]);
    await given.connect();
    await assert.rejects(
      compose(
        settings(),
        { store: given, users: fakeUsers(), transport },
        {
          ...options,
          registry: new Registry(),
          watch: false,
          middlewares: [],
        },
      ),
    );
    // A store given as an instance is its owner's: still open, still usable.
    await given.collection("probe").insertOne({ ok: true });
    await given.close();
  });

  it("refuses to start without a token, naming the setting, and closes the store", async () => {
    const trail: string[] = [];
    await assert.rejects(
      compose(
        settings(),
        { store: () => tracedStore(trail), users: fakeUsers() },
        {
          ...options,
          registry: new Registry(),
          watch: false,
          middlewares: [],
        },
      ),
      (error: unknown) =>
        error instanceof KamihiError &&
        error.code === "KAMIHI_CONFIG_TOKEN_MISSING" &&
        /KAMIHI_TOKEN/.test(error.message),
    );
    assert.deepEqual(trail, ["store connect", "store close"]);
  });

  it("makes users.admins admins through a service's own CRUD when it has no ensureAdmins", async () => {
    const users = fakeUsers();
    await users.createUser({ telegramId: 7, firstName: "Seven" });
    const plain = Object.assign(users, { ensureAdmins: undefined });
    const project = await composeProject(
      settings({ users: { admins: [7, 4242] } }),
      { store: () => tracedStore([]), users: plain },
      { ...options, registry: new Registry() },
    );
    assert.equal(users.users.get(7)?.isAdmin, true, "an existing user is promoted");
    assert.equal(users.users.get(4242)?.isAdmin, true, "a missing admin is created");
    await project.disposers.close(silentLogger);
  });

  it("refuses bot.use() middleware that a factory-made transport cannot run", async () => {
    const trail: string[] = [];
    await assert.rejects(
      compose(
        settings(),
        {
          store: () => tracedStore(trail),
          users: fakeUsers(),
          transport: () => new FakeTransport(),
        },
        {
          ...options,
          registry: new Registry(),
          watch: false,
          middlewares: [async (_, next) => next()],
        },
      ),
      (error: unknown) =>
        error instanceof KamihiError && error.code === "KAMIHI_BOT_MIDDLEWARE_UNSUPPORTED",
    );
    assert.deepEqual(trail, ["store connect", "store close"]);
  });

  it("opens only the store and the users for the CLI's tools", async () => {
    const trail: string[] = [];
    const project = await composeProject(
      settings(),
      { store: () => tracedStore(trail), users: fakeUsers() },
      { ...options, registry: new Registry() },
    );
    assert.equal(typeof project.users.can, "function");
    await project.disposers.close(silentLogger);
    assert.deepEqual(trail, ["store connect", "store close"]);
  });
});
