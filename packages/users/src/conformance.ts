/**
 * The UserService conformance suite: what every `UserService` must do, as `node:test` tests.
 * Kamihi runs it against `createUserService` on the embedded store and on MongoDB; a service of
 * your own runs it the same way:
 *
 * ```ts
 * import { runUserServiceConformance } from "@kamihi/users/conformance";
 * runUserServiceConformance({
 *   name: "my user service",
 *   create: ({ actions }) => createMyUserService({ db: freshDatabase(), actions }),
 * });
 * ```
 *
 * @packageDocumentation
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import {
  type AccessChange,
  isKamihiError,
  type KamihiErrorCode,
  type TelegramUser,
  type UserPage,
  type UserService,
} from "@kamihi/core";

/** What the suite asks of the service under test. */
export interface ServiceSetup {
  /** The bot's action names: a grant naming any other action must be refused. */
  actions: string[];
}

/** Options of {@link runUserServiceConformance}. */
export interface UserServiceConformanceOptions {
  /** Shown in the test names. */
  name: string;
  /**
   * A fresh, empty service over data of its own, with closed registration (strangers stay
   * `unknown`). The suite calls its `init()` first and its `close()` after the suite.
   */
  create(setup: ServiceSetup): UserService | Promise<UserService>;
  /**
   * Another service over the same data as `service` (another instance of the bot, the CLI).
   * When given, the suite checks that `refresh()` picks up what the other one changed.
   */
  peer?(service: UserService, setup: ServiceSetup): UserService | Promise<UserService>;
  /** Called once after the suite (after every service is closed): release what `create` opened. */
  teardown?(): void | Promise<void>;
  /** Skip the suite with this reason (e.g. no server configured). */
  skip?: string;
}

const ACTIONS = ["start", "report", "help"];

/** Registers the conformance tests for one kind of UserService. */
export function runUserServiceConformance(options: UserServiceConformanceOptions): void {
  describe(`UserService conformance: ${options.name}`, { skip: options.skip ?? false }, () => {
    const opened: UserService[] = [];

    async function ready(service: UserService): Promise<UserService> {
      opened.push(service);
      await service.init?.();
      return service;
    }
    const fresh = async () => ready(await options.create({ actions: [...ACTIONS] }));

    after(async () => {
      for (const service of opened.reverse()) await service.close?.();
      await options.teardown?.();
    });

    describe("resolve", () => {
      it("leaves a stranger unknown (registration closed) and stores nothing", async () => {
        const users = await fresh();
        assert.deepEqual(await users.resolve(sender(1)), { outcome: "unknown" });
        assert.deepEqual(await users.resolve(sender(1)), { outcome: "unknown" });
        assert.equal(await users.getUser(1), null);
        assert.equal((await users.listUsers()).total, 0);
      });

      it("finds known, blocked and pending users as such", async () => {
        const users = await fresh();
        await users.createUser({ telegramId: 11, firstName: "Known" });
        await users.createUser({ telegramId: 12, firstName: "Blocked", status: "blocked" });
        await users.createUser({ telegramId: 13, firstName: "Pending", status: "pending" });
        for (const [id, outcome] of [
          [11, "known"],
          [12, "blocked"],
          [13, "pending"],
        ] as const) {
          const resolved = await users.resolve(sender(id));
          assert.equal(resolved.outcome, outcome, `user ${id}`);
          assert.ok("user" in resolved);
          assert.equal(resolved.user.telegramId, id);
        }
      });

      it("knows a stranger added after they were first seen", async () => {
        const users = await fresh();
        assert.equal((await users.resolve(sender(21))).outcome, "unknown");
        await users.createUser({ telegramId: 21, firstName: "Late" });
        assert.equal((await users.resolve(sender(21))).outcome, "known");
        await users.updateUser(21, { status: "blocked" });
        assert.equal((await users.resolve(sender(21))).outcome, "blocked");
      });
    });

    describe("users", () => {
      it("creates a user with the defaults and reads it back", async () => {
        const users = await fresh();
        const created = await users.createUser({ telegramId: 31, firstName: "Ada" });
        assert.equal(created.telegramId, 31);
        assert.equal(created.firstName, "Ada");
        assert.equal(created.isAdmin, false);
        assert.equal(created.status, "active");
        assert.deepEqual(created.roles, []);
        assert.deepEqual(created.data, {});
        assert.ok(created.createdAt instanceof Date);
        const read = await users.getUser(31);
        assert.ok(read !== null);
        assert.equal(read.firstName, "Ada");
        assert.equal(read.createdAt.getTime(), created.createdAt.getTime());
        assert.equal(await users.getUser(32), null);
        assert.ok(Array.isArray(users.fields()));
      });

      it("refuses a second user with the same id (KAMIHI_USER_EXISTS) and keeps the first", async () => {
        const users = await fresh();
        await users.createUser({ telegramId: 41, firstName: "First" });
        await rejectsWith(
          users.createUser({ telegramId: 41, firstName: "Second" }),
          "KAMIHI_USER_EXISTS",
        );
        assert.equal((await users.getUser(41))?.firstName, "First");
        assert.equal((await users.listUsers()).total, 1);
      });

      it("updates a user; an unknown one is KAMIHI_USER_NOT_FOUND", async () => {
        const users = await fresh();
        await users.createUser({ telegramId: 51, firstName: "Old" });
        const updated = await users.updateUser(51, { firstName: "New", isAdmin: true });
        assert.equal(updated.firstName, "New");
        assert.equal(updated.isAdmin, true);
        assert.equal((await users.getUser(51))?.firstName, "New");
        await rejectsWith(users.updateUser(59, { firstName: "Nobody" }), "KAMIHI_USER_NOT_FOUND");
        assert.equal(await users.getUser(59), null);
      });

      it("deletes a user once", async () => {
        const users = await fresh();
        await users.createUser({ telegramId: 61, firstName: "Gone" });
        assert.equal(await users.deleteUser(61), true);
        assert.equal(await users.getUser(61), null);
        assert.equal(await users.deleteUser(61), false);
        assert.equal((await users.resolve(sender(61))).outcome, "unknown");
      });
    });

    describe("roles", () => {
      it("creates, lists and deletes roles", async () => {
        const users = await fresh();
        const role = await users.createRole({ name: "staff", description: "The team" });
        assert.equal(role.name, "staff");
        assert.equal(role.description, "The team");
        assert.ok(role.createdAt instanceof Date);
        await users.createRole({ name: "ops" });
        assert.deepEqual((await users.listRoles()).map((r) => r.name).sort(), ["ops", "staff"]);
        assert.equal(await users.deleteRole("ops"), true);
        assert.equal(await users.deleteRole("ops"), false);
        assert.deepEqual(
          (await users.listRoles()).map((r) => r.name),
          ["staff"],
        );
      });

      it("refuses a role that exists (KAMIHI_ROLE_EXISTS) or a name no role can have (KAMIHI_ROLE_INVALID_NAME)", async () => {
        const users = await fresh();
        await users.createRole({ name: "staff" });
        await rejectsWith(users.createRole({ name: "staff" }), "KAMIHI_ROLE_EXISTS");
        for (const name of ["", "   ", "has space", "a/b"]) {
          await rejectsWith(users.createRole({ name }), "KAMIHI_ROLE_INVALID_NAME", name);
        }
        assert.deepEqual(
          (await users.listRoles()).map((r) => r.name),
          ["staff"],
        );
      });

      it("refuses a role that does not exist (KAMIHI_ROLE_NOT_FOUND) and writes nothing", async () => {
        const users = await fresh();
        await users.createUser({ telegramId: 71, firstName: "Member" });
        await rejectsWith(
          users.createUser({ telegramId: 72, firstName: "X", roles: ["ghost"] }),
          "KAMIHI_ROLE_NOT_FOUND",
        );
        await rejectsWith(users.updateUser(71, { roles: ["ghost"] }), "KAMIHI_ROLE_NOT_FOUND");
        await rejectsWith(users.assignRole("ghost", 71), "KAMIHI_ROLE_NOT_FOUND");
        await rejectsWith(users.grant("report", { roles: ["ghost"] }), "KAMIHI_ROLE_NOT_FOUND");
        assert.equal(await users.getUser(72), null);
        assert.deepEqual((await users.getUser(71))?.roles, []);
        assert.deepEqual(await users.listPermissions(), []);
      });

      it("assigns and unassigns a role; an unknown user is KAMIHI_USER_NOT_FOUND", async () => {
        const users = await fresh();
        await users.createRole({ name: "editor" });
        await users.createUser({ telegramId: 81, firstName: "Ed" });
        assert.deepEqual((await users.assignRole("editor", 81)).roles, ["editor"]);
        assert.deepEqual((await users.assignRole("editor", 81)).roles, ["editor"], "once");
        assert.deepEqual((await users.getUser(81))?.roles, ["editor"]);
        assert.deepEqual((await users.unassignRole("editor", 81)).roles, []);
        assert.deepEqual((await users.getUser(81))?.roles, []);
        await rejectsWith(users.assignRole("editor", 89), "KAMIHI_USER_NOT_FOUND");
        await rejectsWith(users.unassignRole("editor", 89), "KAMIHI_USER_NOT_FOUND");
      });

      it("deleting a role takes it off its members and what it was granted", async () => {
        const users = await fresh();
        await users.createRole({ name: "crew" });
        await users.createUser({ telegramId: 91, firstName: "Crew", roles: ["crew"] });
        await users.grant("report", { roles: ["crew"] });
        assert.equal(await canResolved(users, 91, "report"), true);
        await users.deleteRole("crew");
        assert.deepEqual((await users.getUser(91))?.roles, []);
        assert.equal(await canResolved(users, 91, "report"), false);
      });
    });

    describe("permissions", () => {
      it("grants to users and roles, and can() and allowedActions() follow", async () => {
        const users = await fresh();
        await users.createRole({ name: "helpers" });
        await users.createUser({ telegramId: 101, firstName: "Direct" });
        await users.createUser({ telegramId: 102, firstName: "ViaRole", roles: ["helpers"] });
        await users.createUser({ telegramId: 103, firstName: "Nobody" });
        const granted = await users.grant("report", { users: [101], roles: ["helpers"] });
        assert.equal(granted.action, "report");
        assert.deepEqual(granted.users, [101]);
        assert.deepEqual(granted.roles, ["helpers"]);
        await users.grant("help", { users: [101] });

        assert.equal(await canResolved(users, 101, "report"), true);
        assert.equal(await canResolved(users, 102, "report"), true);
        assert.equal(await canResolved(users, 103, "report"), false);
        assert.equal(await canResolved(users, 102, "help"), false);
        assert.deepEqual(sorted(await users.allowedActions(await known(users, 101))), [
          "help",
          "report",
        ]);
        assert.deepEqual(await users.allowedActions(await known(users, 102)), ["report"]);
        assert.deepEqual(await users.allowedActions(await known(users, 103)), []);
        const listed = await users.listPermissions();
        assert.deepEqual(sorted(listed.map((p) => p.action)), ["help", "report"]);
      });

      it("revokes users and roles, and removes a permission", async () => {
        const users = await fresh();
        await users.createRole({ name: "helpers" });
        await users.createUser({ telegramId: 111, firstName: "Direct" });
        await users.createUser({ telegramId: 112, firstName: "ViaRole", roles: ["helpers"] });
        await users.grant("report", { users: [111], roles: ["helpers"] });

        const revoked = await users.revoke("report", { users: [111] });
        assert.deepEqual(revoked.users, []);
        assert.deepEqual(revoked.roles, ["helpers"]);
        assert.equal(await canResolved(users, 111, "report"), false);
        assert.equal(await canResolved(users, 112, "report"), true);
        await users.revoke("report", { roles: ["helpers"] });
        assert.equal(await canResolved(users, 112, "report"), false);

        await users.grant("help", { users: [111] });
        assert.equal(await users.removePermission("help"), true);
        assert.equal(await users.removePermission("help"), false);
        assert.equal(await canResolved(users, 111, "help"), false);
      });

      it("refuses an action the bot does not have (KAMIHI_PERMISSION_UNKNOWN_ACTION) or a user it does not know (KAMIHI_USER_NOT_FOUND)", async () => {
        const users = await fresh();
        await users.createUser({ telegramId: 121, firstName: "A" });
        await rejectsWith(
          users.grant("nope", { users: [121] }),
          "KAMIHI_PERMISSION_UNKNOWN_ACTION",
        );
        await rejectsWith(
          users.revoke("nope", { users: [121] }),
          "KAMIHI_PERMISSION_UNKNOWN_ACTION",
        );
        await rejectsWith(users.grant("report", { users: [121, 129] }), "KAMIHI_USER_NOT_FOUND");
        assert.deepEqual(await users.listPermissions(), []);
        assert.equal(await canResolved(users, 121, "report"), false);
      });

      it("admins may run everything; blocked and pending users nothing, admins included", async () => {
        const users = await fresh();
        const admin = await users.createUser({ telegramId: 131, firstName: "Ad", isAdmin: true });
        const blocked = await users.createUser({
          telegramId: 132,
          firstName: "Bl",
          status: "blocked",
          isAdmin: true,
        });
        const pending = await users.createUser({
          telegramId: 133,
          firstName: "Pe",
          status: "pending",
        });
        await users.grant("report", { users: [132, 133] });
        assert.equal(await users.can(admin, "report"), true);
        assert.equal(await users.can(admin, "help"), true);
        assert.deepEqual(sorted(await users.allowedActions(admin)), sorted(ACTIONS));
        for (const user of [blocked, pending]) {
          assert.equal(await users.can(user, "report"), false, `${user.telegramId}`);
          assert.deepEqual(await users.allowedActions(user), [], `${user.telegramId}`);
        }
      });
    });

    describe("decide", () => {
      it("applies a decision once: applied, then already; an unknown user is missing", async () => {
        const users = await fresh();
        await users.createUser({ telegramId: 141, firstName: "Waiting", status: "pending" });
        await users.createUser({ telegramId: 142, firstName: "Denied", status: "pending" });

        const approved = await users.decide(141, true);
        assert.equal(approved.outcome, "applied");
        assert.ok("user" in approved);
        assert.equal(approved.user.status, "active");
        assert.equal((await users.resolve(sender(141))).outcome, "known");
        const again = await users.decide(141, false);
        assert.equal(again.outcome, "already");
        assert.ok("user" in again);
        assert.equal(again.user.status, "active");
        assert.equal((await users.getUser(141))?.status, "active");

        const denied = await users.decide(142, false);
        assert.equal(denied.outcome, "applied");
        assert.equal((await users.resolve(sender(142))).outcome, "blocked");

        assert.deepEqual(await users.decide(149, true), { outcome: "missing" });
        assert.equal(await users.getUser(149), null);
      });

      it("of several decisions at once, exactly one applies", async () => {
        const users = await fresh();
        await users.createUser({ telegramId: 151, firstName: "Contested", status: "pending" });
        const decisions = await Promise.all(
          Array.from({ length: 6 }, (_, i) => users.decide(151, i % 2 === 0)),
        );
        const outcomes = decisions.map((d) => d.outcome);
        assert.equal(outcomes.filter((o) => o === "applied").length, 1, outcomes.join());
        assert.equal(outcomes.filter((o) => o === "already").length, 5, outcomes.join());
      });
    });

    describe("ensureAdmins", () => {
      it("creates missing admins and promotes existing users, idempotently", async (t) => {
        const users = await fresh();
        const { ensureAdmins } = users;
        if (ensureAdmins === undefined) {
          // Optional in the port: the bot then does the same through the service's CRUD.
          t.skip("this service has no ensureAdmins()");
          return;
        }
        await users.createUser({ telegramId: 162, firstName: "Zed", status: "blocked" });
        for (let round = 0; round < 2; round++) {
          await ensureAdmins.call(users, [161, 162]);
          const created = await users.getUser(161);
          assert.ok(created !== null);
          assert.equal(created.isAdmin, true);
          assert.equal(created.status, "active");
          const promoted = await users.getUser(162);
          assert.ok(promoted !== null);
          assert.equal(promoted.isAdmin, true);
          assert.equal(promoted.status, "active");
          assert.equal(promoted.firstName, "Zed", "an existing user keeps their fields");
          const admins = await users.listUsers({ isAdmin: true });
          assert.deepEqual(sortedIds(admins), [161, 162], `round ${round}`);
          assert.equal((await users.listUsers()).total, 2);
        }
        assert.equal(await canResolved(users, 162, "report"), true);
      });
    });

    describe("changes", () => {
      it("onChange() hears this service's changes, until unsubscribed", async () => {
        const users = await fresh();
        const heard: AccessChange[] = [];
        const stop = users.onChange((change) => heard.push(change));
        await users.createUser({ telegramId: 171, firstName: "Watched" });
        assert.ok(
          heard.some((change) => touches(change, 171)),
          "heard the new user",
        );
        heard.length = 0;
        await users.updateUser(171, { status: "blocked" });
        assert.ok(
          heard.some((change) => touches(change, 171)),
          "heard the update",
        );
        heard.length = 0;
        await users.grant("report", { users: [171] });
        assert.ok(
          heard.some((change) => touches(change, 171)),
          "heard the grant",
        );
        stop();
        heard.length = 0;
        await users.updateUser(171, { status: "active" });
        assert.deepEqual(heard, [], "nothing after unsubscribing");
      });

      it("refresh() picks up what another service over the same data changed", {
        skip: options.peer === undefined ? "no peer hook given" : false,
      }, async () => {
        const users = await fresh();
        const other = await ready(
          await (options.peer as NonNullable<typeof options.peer>)(users, {
            actions: [...ACTIONS],
          }),
        );
        await users.refresh();
        const heard: AccessChange[] = [];
        const stop = users.onChange((change) => heard.push(change));
        try {
          await other.createUser({ telegramId: 181, firstName: "Shared" });
          const added = await users.refresh();
          assert.ok(
            added.some((change) => touches(change, 181)),
            JSON.stringify(added),
          );
          assert.equal((await users.resolve(sender(181))).outcome, "known");

          await other.updateUser(181, { status: "blocked" });
          const blocked = await users.refresh();
          assert.ok(
            blocked.some((change) => touches(change, 181)),
            JSON.stringify(blocked),
          );
          assert.ok(
            heard.some((change) => touches(change, 181)),
            "listeners heard it too",
          );
          assert.equal((await users.resolve(sender(181))).outcome, "blocked");
          assert.deepEqual(await users.refresh(), [], "a change is reported once");

          await other.updateUser(181, { status: "active" });
          await other.grant("report", { users: [181] });
          await users.refresh();
          assert.equal(await canResolved(users, 181, "report"), true);
        } finally {
          stop();
        }
      });
    });

    describe("listUsers", () => {
      it("pages through every user once, with the total; filters and searches", async () => {
        const users = await fresh();
        await users.createRole({ name: "staff" });
        const ids = [207, 201, 205, 203, 202, 206, 204];
        for (const id of ids) {
          await users.createUser({
            telegramId: id,
            firstName: id === 203 ? "Zoe" : `User ${id}`,
            ...(id === 202 ? { status: "blocked" as const } : {}),
            ...(id === 204 ? { isAdmin: true } : {}),
            ...(id === 205 ? { roles: ["staff"] } : {}),
          });
        }
        const seen: number[] = [];
        let after: string | undefined;
        let pages = 0;
        do {
          const page = await users.listUsers({
            limit: 3,
            ...(after === undefined ? {} : { after }),
          });
          assert.equal(page.total, ids.length);
          assert.ok(page.users.length <= 3);
          seen.push(...page.users.map((u) => u.telegramId));
          after = page.next;
          pages++;
          assert.ok(pages <= ids.length, "paging ends");
        } while (after !== undefined);
        assert.deepEqual(sorted(seen), sorted(ids), "every user exactly once");

        assert.deepEqual(sortedIds(await users.listUsers({ status: "blocked" })), [202]);
        assert.deepEqual(sortedIds(await users.listUsers({ isAdmin: true })), [204]);
        assert.deepEqual(sortedIds(await users.listUsers({ role: "staff" })), [205]);
        assert.deepEqual(sortedIds(await users.listUsers({ search: "zOE" })), [203]);
        assert.deepEqual(sortedIds(await users.listUsers({ search: ".*" })), [], "literally");

        const capped = await users.listUsers({ countUpTo: 3 });
        assert.equal(capped.total, 3);
        assert.equal(capped.moreThanTotal, true);
        const exact = await users.listUsers({ countUpTo: 100 });
        assert.equal(exact.total, ids.length);
        assert.ok(!exact.moreThanTotal);
      });
    });
  });
}

/** A Telegram sender as updates carry it. */
function sender(id: number): TelegramUser {
  return { id, is_bot: false, first_name: `User ${id}` };
}

/** The user as `resolve()` gives it, failing unless they are known (active). */
async function known(users: UserService, id: number) {
  const resolved = await users.resolve(sender(id));
  assert.equal(resolved.outcome, "known", `user ${id}`);
  assert.ok("user" in resolved);
  return resolved.user;
}

/** Whether the user, as the update path sees them now, may run `action`. */
async function canResolved(users: UserService, id: number, action: string): Promise<boolean> {
  const resolved = await users.resolve(sender(id));
  assert.ok("user" in resolved, `user ${id} is ${resolved.outcome}`);
  return users.can(resolved.user, action);
}

/** Whether a change of access covers this user. */
function touches(change: AccessChange, id: number): boolean {
  return "all" in change || change.users.includes(id);
}

async function rejectsWith(promise: Promise<unknown>, code: KamihiErrorCode, what = "") {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(isKamihiError(error, code), `${what}: expected ${code}, got ${String(error)}`);
    return true;
  });
}

function sorted<T extends string | number>(values: readonly T[]): T[] {
  return [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

function sortedIds(page: UserPage): number[] {
  return sorted(page.users.map((user) => user.telegramId));
}
