import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { AccessChange, Store } from "@kamihi/core";
import { createUserService, type StoreUserService } from "../src/index.js";
import { backends, countingStore, type TestDatabase, tg } from "./helpers/backends.js";
import { manualClock } from "./helpers/clock.js";

const CACHE_SECONDS = 2;
/** How long a numbered but unwritten change log entry is waited for (GAP_GRACE_MS). */
const GAP_GRACE_MS = 10_000;
const actions = () => ["start", "secret"];

for (const backend of backends) {
  describe(
    `cache on ${backend.kind}`,
    backend.skip === undefined ? {} : { skip: backend.skip },
    () => {
      describe("two instances over one database", () => {
        let db: TestDatabase;
        let a: StoreUserService;
        let b: StoreUserService;
        const seenByA: AccessChange[] = [];
        const clock = manualClock();

        before(async () => {
          db = await backend.open();
          const storeA = await db.connect();
          const storeB = await db.connect();
          a = createUserService({ store: storeA, cacheSeconds: CACHE_SECONDS, actions, clock });
          b = createUserService({ store: storeB, cacheSeconds: CACHE_SECONDS, actions, clock });
          await Promise.all([a.init(), b.init()]);
          a.onChange((change) => seenByA.push(change));
        });
        after(async () => {
          await db?.close();
        });

        it("refresh() picks up a user blocked elsewhere and reports it", async () => {
          await b.createUser({ telegramId: 8001, firstName: "Shared" });
          await a.refresh();
          seenByA.length = 0;
          assert.equal((await a.resolve(tg(8001, "Shared"))).outcome, "known");

          await b.updateUser(8001, { status: "blocked" });
          const changes = await a.refresh();
          assert.deepEqual(changes, [{ users: [8001] }]);
          assert.deepEqual(seenByA, [{ users: [8001] }]);
          assert.equal((await a.resolve(tg(8001, "Shared"))).outcome, "blocked");
          assert.deepEqual(await a.refresh(), [], "a change is reported once");
        });

        it("a service does not report its own writes again", async () => {
          await a.refresh();
          await b.refresh();
          const own: AccessChange[] = [];
          const stop = b.onChange((change) => own.push(change));
          try {
            await b.updateUser(8001, { status: "active" });
            assert.deepEqual(own, [{ users: [8001] }], "applied (and announced) at once");
            assert.deepEqual(await b.refresh(), []);
            assert.deepEqual(own, [{ users: [8001] }]);
            assert.deepEqual(await a.refresh(), [{ users: [8001] }]);
          } finally {
            stop();
          }
        });

        it("a service's own writes take effect at once", async () => {
          const before = await a.resolve(tg(8001, "Shared"));
          assert.equal(before.outcome, "known");
          assert.ok("user" in before);
          assert.equal(await a.can(before.user, "secret"), false);

          await a.grant("secret", { users: [8001] });
          assert.equal(await a.can(before.user, "secret"), true);
          await a.updateUser(8001, { status: "blocked" });
          assert.equal((await a.resolve(tg(8001, "Shared"))).outcome, "blocked");
          await a.updateUser(8001, { status: "active" });
          assert.equal((await a.resolve(tg(8001, "Shared"))).outcome, "known");
          await a.revoke("secret", { users: [8001] });
          assert.equal(await a.can(before.user, "secret"), false);
          await b.refresh();
        });

        it("a grant made elsewhere reaches can() once resolve() runs after the cache time", async () => {
          await a.refresh();
          const first = await a.resolve(tg(8001, "Shared"));
          assert.ok("user" in first);
          assert.equal(await a.can(first.user, "secret"), false);

          await b.grant("secret", { users: [8001] });
          clock.advance(CACHE_SECONDS * 1000 - 1);
          const early = await a.resolve(tg(8001, "Shared"));
          assert.ok("user" in early);
          assert.equal(await a.can(early.user, "secret"), false, "not before the cache time");
          clock.advance(1);
          const later = await a.resolve(tg(8001, "Shared"));
          assert.ok("user" in later);
          assert.equal(await a.can(later.user, "secret"), true);
          assert.deepEqual(await a.allowedActions(later.user), ["secret"]);
        });

        it("a block made elsewhere reaches resolve() after the cache time, without refresh()", async () => {
          assert.equal((await a.resolve(tg(8001, "Shared"))).outcome, "known");
          await b.updateUser(8001, { status: "blocked" });
          clock.advance(CACHE_SECONDS * 1000 - 1);
          assert.equal((await a.resolve(tg(8001, "Shared"))).outcome, "known", "cached until then");
          clock.advance(1);
          assert.equal((await a.resolve(tg(8001, "Shared"))).outcome, "blocked");
        });

        it("a role deleted elsewhere is dropped from its members' cached state", async () => {
          await b.createRole({ name: "crew" });
          await b.createUser({ telegramId: 8002, firstName: "Crew", roles: ["crew"] });
          await b.grant("start", { roles: ["crew"] });
          await a.refresh();
          const cached = await a.resolve(tg(8002, "Crew"));
          assert.ok("user" in cached);
          assert.equal(await a.can(cached.user, "start"), true);
          // Let the profile write of that first resolve() land: it is not what this test is about.
          await a.flush();

          await b.deleteRole("crew");
          const changes = await a.refresh();
          assert.deepEqual(changes, [{ users: [8002] }]);
          const fresh = await a.resolve(tg(8002, "Crew"));
          assert.ok("user" in fresh);
          assert.deepEqual(fresh.user.roles, []);
          assert.equal(await a.can(fresh.user, "start"), false);
        });

        it("a user registered by one instance is known to the other", async () => {
          const open = createUserService({
            store: await db.connect(),
            registration: "open",
            cacheSeconds: CACHE_SECONDS,
            clock,
          });
          assert.equal((await open.resolve(tg(8003, "Newbie"))).outcome, "registered");
          const other = createUserService({
            store: await db.connect(),
            registration: "open",
            cacheSeconds: CACHE_SECONDS,
            clock,
          });
          assert.equal((await other.resolve(tg(8003, "Newbie"))).outcome, "known");
        });

        it("a change numbered but never written counts as everything changed, after a grace time", async () => {
          await b.updateUser(8001, { status: "active" });
          await a.refresh();
          assert.equal((await a.resolve(tg(8001, "Shared"))).outcome, "known");
          // A writer that took the next number and died before writing its change.
          const raw = await db.connect();
          await raw.collection("counters").updateOne({ name: "access" }, { $inc: { seq: 1 } });
          await b.updateUser(8001, { status: "blocked" });

          assert.deepEqual(await a.refresh(), [], "the missing change is waited for");
          assert.equal((await a.resolve(tg(8001, "Shared"))).outcome, "known");
          clock.advance(GAP_GRACE_MS - 1);
          assert.deepEqual(await a.refresh(), []);
          clock.advance(1);
          assert.deepEqual(await a.refresh(), [{ all: true }, { users: [8001] }]);
          assert.equal((await a.resolve(tg(8001, "Shared"))).outcome, "blocked");
        });
      });

      describe("steady state", () => {
        let db: TestDatabase;
        let store: Store;

        before(async () => {
          db = await backend.open();
          store = await db.connect();
        });
        after(async () => {
          await db?.close();
        });

        it("resolving a known user again costs no read of the store", async () => {
          const { store: counted, counter } = countingStore(store);
          const users = createUserService({ store: counted, cacheSeconds: 60, actions });
          await users.createUser({ telegramId: 9001, firstName: "Steady" });
          await users.grant("start", { users: [9001] });
          counter.reset();

          for (let i = 0; i < 100; i++) {
            const resolved = await users.resolve(tg(9001, "Steady"));
            assert.equal(resolved.outcome, "known");
            assert.ok("user" in resolved);
            assert.equal(await users.can(resolved.user, "start"), true);
            assert.equal(await users.can(resolved.user, "secret"), false);
          }
          assert.ok(counter.count("users", "findOne", "find") <= 1, "users read at most once");
          assert.ok(counter.count("permissions", "findOne", "find") <= 1, "permissions read once");
          assert.equal(counter.count("access_changes", "findOne", "find"), 0);
        });

        it("after a user registers, their next updates cost no store round trip", async () => {
          const { store: counted, counter } = countingStore(store);
          const users = createUserService({
            store: counted,
            registration: "open",
            cacheSeconds: 60,
          });
          assert.equal((await users.resolve(tg(9002, "Fresh"))).outcome, "registered");
          counter.reset();

          for (let i = 0; i < 100; i++) {
            assert.equal((await users.resolve(tg(9002, "Fresh"))).outcome, "known");
          }
          assert.equal(
            counter.count("users", "insertOne"),
            0,
            "the registered user is cached: no second registration attempt",
          );
          assert.ok(counter.count("users", "findOne", "find") <= 1, "users read at most once");
        });

        it("a stranger under closed registration is read once, then cached", async () => {
          const { store: counted, counter } = countingStore(store);
          const users = createUserService({ store: counted, cacheSeconds: 60 });
          await users.init();
          counter.reset();
          for (let i = 0; i < 100; i++) {
            assert.deepEqual(await users.resolve(tg(9003)), { outcome: "unknown" });
          }
          assert.equal(counter.count("users", "findOne", "find"), 1);
        });
      });
    },
  );
}
