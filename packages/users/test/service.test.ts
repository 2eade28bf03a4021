import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { AccessChange, User } from "@kamihi/core";
import * as v from "valibot";
import { createUserService } from "../src/index.js";
import { backends, issuePaths, kamihiError, tg } from "./helpers/backends.js";
import { manualClock } from "./helpers/clock.js";
import { profileSchema, withService } from "./helpers/service.js";

/** Outside input typed as anything: what a CLI argument or a JSON body can hold. */
const outside = <T>(value: unknown) => value as T;

for (const backend of backends) {
  describe(
    `users on ${backend.kind}`,
    backend.skip === undefined ? {} : { skip: backend.skip },
    () => {
      describe("users", () => {
        const ctx = withService(backend, { schema: profileSchema });

        it("creates a user with defaults and reads it back", async () => {
          const created = await ctx.users.createUser({
            telegramId: 1001,
            firstName: "  Ann ",
            lastName: "Smith",
            username: "@annie",
            data: { age: 30 },
          });
          assert.equal(created.telegramId, 1001);
          assert.equal(created.firstName, "Ann");
          assert.equal(created.lastName, "Smith");
          assert.equal(created.username, "annie");
          assert.equal(created.status, "active");
          assert.equal(created.isAdmin, false);
          assert.deepEqual(created.roles, []);
          assert.deepEqual(created.data, { city: "Madrid", age: 30, vip: false });
          assert.ok(created.createdAt instanceof Date);

          const read = await ctx.users.getUser(1001);
          assert.ok(read !== null);
          assert.equal(read.firstName, "Ann");
          assert.equal(read.username, "annie");
          assert.deepEqual(read.data, { city: "Madrid", age: 30, vip: false });
          assert.equal(read.createdAt.getTime(), created.createdAt.getTime());
        });

        it("returns null for a user that does not exist", async () => {
          assert.equal(await ctx.users.getUser(1999), null);
        });

        it("refuses a second user with the same Telegram id and keeps the first", async () => {
          await ctx.users.createUser({ telegramId: 1002, firstName: "First" });
          await assert.rejects(
            ctx.users.createUser({ telegramId: 1002, firstName: "Second" }),
            kamihiError("KAMIHI_USER_EXISTS", (error) => {
              assert.equal(error.details.telegramId, 1002);
            }),
          );
          assert.equal((await ctx.users.getUser(1002))?.firstName, "First");
          assert.equal(await ctx.store.collection("users").countDocuments({ telegramId: 1002 }), 1);
        });

        for (const bad of [0, -1, 1.5, "12", Number.NaN, 2 ** 60]) {
          it(`refuses the Telegram id ${JSON.stringify(bad) ?? String(bad)}`, async () => {
            const before = await ctx.store.collection("users").countDocuments({});
            await assert.rejects(
              ctx.users.createUser({ telegramId: outside<number>(bad), firstName: "Bad" }),
              kamihiError("KAMIHI_USER_INVALID", (error) => {
                assert.deepEqual(issuePaths(error), ["telegramId"]);
              }),
            );
            await assert.rejects(
              ctx.users.getUser(outside<number>(bad)),
              kamihiError("KAMIHI_USER_INVALID"),
            );
            assert.equal(await ctx.store.collection("users").countDocuments({}), before);
          });
        }

        it("refuses an empty first name", async () => {
          for (const firstName of ["", "   ", outside<string>(undefined), outside<string>(42)]) {
            await assert.rejects(
              ctx.users.createUser({ telegramId: 1003, firstName }),
              kamihiError("KAMIHI_USER_INVALID", (error) => {
                assert.deepEqual(issuePaths(error), ["firstName"]);
              }),
            );
          }
          assert.equal(await ctx.users.getUser(1003), null);
        });

        it("refuses an unknown status", async () => {
          await assert.rejects(
            ctx.users.createUser({ telegramId: 1004, firstName: "X", status: outside("gone") }),
            kamihiError("KAMIHI_USER_INVALID", (error) => {
              assert.deepEqual(issuePaths(error), ["status"]);
            }),
          );
          assert.equal(await ctx.users.getUser(1004), null);
        });

        it("validates custom data with the schema, naming each bad field, and writes nothing", async () => {
          await assert.rejects(
            ctx.users.createUser({ telegramId: 1005, firstName: "X", data: { age: "old" } }),
            kamihiError("KAMIHI_USER_INVALID", (error) => {
              assert.deepEqual(issuePaths(error), ["data.age"]);
              assert.match(error.message, /data\.age/);
            }),
          );
          await assert.rejects(
            ctx.users.createUser({
              telegramId: 1005,
              firstName: "X",
              data: { age: 1.5, vip: "yes", city: 3 },
            }),
            kamihiError("KAMIHI_USER_INVALID", (error) => {
              assert.deepEqual(issuePaths(error).sort(), ["data.age", "data.city", "data.vip"]);
            }),
          );
          assert.equal(await ctx.users.getUser(1005), null);
        });

        it("refuses a user naming a role that does not exist, and writes nothing", async () => {
          await assert.rejects(
            ctx.users.createUser({ telegramId: 1006, firstName: "X", roles: ["ghost"] }),
            kamihiError("KAMIHI_ROLE_NOT_FOUND", (error) => {
              assert.deepEqual(error.details.missing, ["ghost"]);
            }),
          );
          assert.equal(await ctx.users.getUser(1006), null);
        });

        it("updates a user's fields, validating the data", async () => {
          await ctx.users.createUser({
            telegramId: 1010,
            firstName: "Old",
            lastName: "Name",
            data: { city: "Lima", age: 5 },
          });
          const updated = await ctx.users.updateUser(1010, {
            firstName: " New ",
            lastName: "",
            status: "blocked",
            isAdmin: true,
            data: { age: 6 },
          });
          assert.equal(updated.firstName, "New");
          assert.equal(updated.lastName, undefined);
          assert.equal(updated.status, "blocked");
          assert.equal(updated.isAdmin, true);
          assert.deepEqual(updated.data, { city: "Madrid", age: 6, vip: false });

          const read = await ctx.users.getUser(1010);
          assert.ok(read !== null);
          assert.equal(read.firstName, "New");
          assert.equal("lastName" in read, false);
          assert.equal(read.status, "blocked");
          assert.equal(read.isAdmin, true);
          assert.deepEqual(read.data, { city: "Madrid", age: 6, vip: false });
        });

        it("saves a username without its @, whether created or updated", async () => {
          await ctx.users.createUser({ telegramId: 1012, firstName: "At", username: "@first" });
          assert.equal((await ctx.users.getUser(1012))?.username, "first");
          const updated = await ctx.users.updateUser(1012, { username: "@second" });
          assert.equal(updated.username, "second");
          assert.equal((await ctx.users.getUser(1012))?.username, "second");
        });

        it("refuses an invalid update and leaves the user as it was", async () => {
          await ctx.users.createUser({ telegramId: 1011, firstName: "Keep", data: { age: 1 } });
          await assert.rejects(
            ctx.users.updateUser(1011, { firstName: "Changed", data: { age: -3 } }),
            kamihiError("KAMIHI_USER_INVALID", (error) => {
              assert.deepEqual(issuePaths(error), ["data.age"]);
            }),
          );
          await assert.rejects(
            ctx.users.updateUser(1011, { firstName: "Changed", status: outside("gone") }),
            kamihiError("KAMIHI_USER_INVALID", (error) => {
              assert.deepEqual(issuePaths(error), ["status"]);
            }),
          );
          await assert.rejects(
            ctx.users.updateUser(1011, { firstName: "  " }),
            kamihiError("KAMIHI_USER_INVALID", (error) => {
              assert.deepEqual(issuePaths(error), ["firstName"]);
            }),
          );
          await assert.rejects(
            ctx.users.updateUser(1011, { firstName: "Changed", roles: ["ghost"] }),
            kamihiError("KAMIHI_ROLE_NOT_FOUND"),
          );
          const read = await ctx.users.getUser(1011);
          assert.equal(read?.firstName, "Keep");
          assert.equal(read?.status, "active");
          assert.deepEqual(read?.data, { city: "Madrid", age: 1, vip: false });
        });

        it("reports KAMIHI_USER_NOT_FOUND when updating a user that does not exist", async () => {
          await assert.rejects(
            ctx.users.updateUser(1998, { firstName: "Nobody" }),
            kamihiError("KAMIHI_USER_NOT_FOUND", (error) => {
              assert.equal(error.details.telegramId, 1998);
            }),
          );
          await assert.rejects(
            ctx.users.updateUser(1998, {}),
            kamihiError("KAMIHI_USER_NOT_FOUND"),
          );
          assert.equal(await ctx.users.getUser(1998), null);
        });

        it("deletes a user once, and takes them off every permission", async () => {
          await ctx.users.createUser({ telegramId: 1020, firstName: "Gone" });
          await ctx.users.createUser({ telegramId: 1021, firstName: "Stays" });
          await ctx.users.grant("delete_test", { users: [1020, 1021] });
          assert.equal(await ctx.users.deleteUser(1020), true);
          assert.equal(await ctx.users.getUser(1020), null);
          assert.equal(await ctx.users.deleteUser(1020), false);
          const permission = (await ctx.users.listPermissions()).find(
            (p) => p.action === "delete_test",
          );
          assert.deepEqual(permission?.users, [1021]);
          await assert.rejects(ctx.users.deleteUser(0), kamihiError("KAMIHI_USER_INVALID"));
        });

        it("without a schema, accepts any object as data and refuses anything else", async () => {
          const plain = createUserService({ store: ctx.store });
          const user = await plain.createUser({
            telegramId: 1030,
            firstName: "Plain",
            data: { anything: [1, 2] },
          });
          assert.deepEqual(user.data, { anything: [1, 2] });
          for (const data of [[], "text", 5, null]) {
            await assert.rejects(
              plain.createUser({ telegramId: 1031, firstName: "Plain", data: outside(data) }),
              kamihiError("KAMIHI_USER_INVALID", (error) => {
                assert.deepEqual(issuePaths(error), ["data"]);
              }),
            );
          }
          assert.equal(await plain.getUser(1031), null);
        });
      });

      describe("roles", () => {
        const ctx = withService(backend);

        it("creates roles and lists them sorted by name", async () => {
          const role = await ctx.users.createRole({ name: " zeta ", description: " Last one " });
          assert.equal(role.name, "zeta");
          assert.equal(role.description, "Last one");
          assert.ok(role.createdAt instanceof Date);
          await ctx.users.createRole({ name: "alpha" });
          await ctx.users.createRole({ name: "mid.level-2_x" });
          const roles = await ctx.users.listRoles();
          assert.deepEqual(
            roles.map((r) => r.name),
            ["alpha", "mid.level-2_x", "zeta"],
          );
          assert.equal(roles[2]?.description, "Last one");
          assert.equal("description" in (roles[0] ?? {}), false);
        });

        it("refuses a role that already exists", async () => {
          await ctx.users.createRole({ name: "dup" });
          await assert.rejects(
            ctx.users.createRole({ name: "dup", description: "again" }),
            kamihiError("KAMIHI_ROLE_EXISTS", (error) => {
              assert.equal(error.details.role, "dup");
            }),
          );
          const dups = (await ctx.users.listRoles()).filter((r) => r.name === "dup");
          assert.equal(dups.length, 1);
          assert.equal(dups[0]?.description, undefined);
        });

        it("refuses invalid role names", async () => {
          const before = (await ctx.users.listRoles()).length;
          for (const name of ["", "   ", "has space", "a/b", "x".repeat(65), "$gt", "a$b"]) {
            await assert.rejects(
              ctx.users.createRole({ name }),
              kamihiError("KAMIHI_ROLE_INVALID_NAME", (error) => {
                assert.match(error.message, /is not a valid role name/);
              }),
            );
          }
          for (const name of [{ $gt: "" }, null, 5]) {
            await assert.rejects(
              ctx.users.createRole({ name: outside(name) }),
              kamihiError("KAMIHI_ROLE_INVALID_NAME"),
            );
          }
          assert.equal((await ctx.users.listRoles()).length, before);
        });

        it("deleting a role takes it off its users and its permissions", async () => {
          await ctx.users.createRole({ name: "staff" });
          await ctx.users.createRole({ name: "keep" });
          const member = await ctx.users.createUser({
            telegramId: 2001,
            firstName: "Member",
            roles: ["staff", "keep"],
          });
          await ctx.users.grant("staff_only", { roles: ["staff", "keep"] });
          assert.equal(await ctx.users.can(member, "staff_only"), true);

          assert.equal(await ctx.users.deleteRole("staff"), true);
          assert.equal(await ctx.users.deleteRole("staff"), false);
          assert.ok(!(await ctx.users.listRoles()).some((r) => r.name === "staff"));
          const after = await ctx.users.getUser(2001);
          assert.deepEqual(after?.roles, ["keep"]);
          const permission = (await ctx.users.listPermissions()).find(
            (p) => p.action === "staff_only",
          );
          assert.deepEqual(permission?.roles, ["keep"]);

          await ctx.users.deleteRole("keep");
          const resolved = await ctx.users.resolve(tg(2001, "Member"));
          assert.equal(resolved.outcome, "known");
          assert.ok("user" in resolved);
          assert.deepEqual(resolved.user.roles, []);
          assert.equal(await ctx.users.can(resolved.user, "staff_only"), false);
        });

        it("a role deleted while a member's update is handled stays deleted", async () => {
          // resolve() saves the member's new profile behind the caller's back; that write must not
          // bring back a role taken off the member at the same time.
          await ctx.users.createUser({ telegramId: 2030, firstName: "Busy" });
          for (let i = 0; i < 20; i++) {
            const role = `busy${i}`;
            await ctx.users.createRole({ name: role });
            await ctx.users.assignRole(role, 2030);
            assert.equal((await ctx.users.resolve(tg(2030, `Busy ${i}`))).outcome, "known");
            await ctx.users.deleteRole(role);
            await ctx.users.flush();
            const stored = await ctx.users.getUser(2030);
            assert.deepEqual(
              { firstName: stored?.firstName, roles: stored?.roles },
              { firstName: `Busy ${i}`, roles: [] },
              `round ${i}: both the profile and the role removal are saved`,
            );
          }
        });

        it("assigns and unassigns roles", async () => {
          await ctx.users.createRole({ name: "editor" });
          await ctx.users.createUser({ telegramId: 2010, firstName: "Ed" });
          await ctx.users.grant("edit", { roles: ["editor"] });

          const assigned = await ctx.users.assignRole("editor", 2010);
          assert.deepEqual(assigned.roles, ["editor"]);
          const twice = await ctx.users.assignRole("editor", 2010);
          assert.deepEqual(twice.roles, ["editor"]);
          assert.deepEqual((await ctx.users.getUser(2010))?.roles, ["editor"]);
          const known = await ctx.users.resolve(tg(2010, "Ed"));
          assert.ok("user" in known);
          assert.equal(await ctx.users.can(known.user, "edit"), true);

          const unassigned = await ctx.users.unassignRole("editor", 2010);
          assert.deepEqual(unassigned.roles, []);
          assert.deepEqual((await ctx.users.getUser(2010))?.roles, []);
          const again = await ctx.users.resolve(tg(2010, "Ed"));
          assert.ok("user" in again);
          assert.equal(await ctx.users.can(again.user, "edit"), false);
        });

        it("refuses to assign a role or a user that does not exist", async () => {
          await ctx.users.createRole({ name: "viewer" });
          await ctx.users.createUser({ telegramId: 2020, firstName: "Vi" });
          await assert.rejects(
            ctx.users.assignRole("ghost", 2020),
            kamihiError("KAMIHI_ROLE_NOT_FOUND", (error) => {
              assert.deepEqual(error.details.missing, ["ghost"]);
              assert.ok((error.details.roles as string[]).includes("viewer"));
            }),
          );
          await assert.rejects(
            ctx.users.assignRole("viewer", 2999),
            kamihiError("KAMIHI_USER_NOT_FOUND"),
          );
          await assert.rejects(
            ctx.users.unassignRole("viewer", 2999),
            kamihiError("KAMIHI_USER_NOT_FOUND"),
          );
          await assert.rejects(
            ctx.users.assignRole("viewer", -5),
            kamihiError("KAMIHI_USER_INVALID"),
          );
          for (const name of ["", "   ", outside<string>(null), outside<string>(7)]) {
            await assert.rejects(
              ctx.users.assignRole(name, 2020),
              kamihiError("KAMIHI_ROLE_INVALID_NAME"),
            );
            await assert.rejects(
              ctx.users.createUser({ telegramId: 2021, firstName: "X", roles: [name] }),
              kamihiError("KAMIHI_ROLE_INVALID_NAME"),
            );
          }
          assert.equal(await ctx.users.getUser(2999), null);
          assert.equal(await ctx.users.getUser(2021), null);
          assert.deepEqual((await ctx.users.getUser(2020))?.roles, []);
        });

        it("a role named with spaces around it is that role", async () => {
          await ctx.users.createUser({ telegramId: 2040, firstName: "Sp" });
          assert.deepEqual((await ctx.users.assignRole(" viewer ", 2040)).roles, ["viewer"]);
          assert.deepEqual((await ctx.users.getUser(2040))?.roles, ["viewer"]);
          assert.deepEqual((await ctx.users.unassignRole(" viewer ", 2040)).roles, []);
        });
      });

      describe("permissions", () => {
        let actions = ["start", "secret", "help"];
        const ctx = withService(backend, { actions: () => actions });

        it("refuses a grant naming an action the bot does not have, listing the actions", async () => {
          await ctx.users.createUser({ telegramId: 3001, firstName: "A" });
          await assert.rejects(
            ctx.users.grant("nope", { users: [3001] }),
            kamihiError("KAMIHI_PERMISSION_UNKNOWN_ACTION", (error) => {
              assert.deepEqual(error.details.actions, ["start", "secret", "help"]);
              assert.match(error.message, /start, secret, help/);
            }),
          );
          await assert.rejects(
            ctx.users.grant("", { users: [3001] }),
            kamihiError("KAMIHI_PERMISSION_UNKNOWN_ACTION"),
          );
          await assert.rejects(
            ctx.users.revoke("nope", { users: [3001] }),
            kamihiError("KAMIHI_PERMISSION_UNKNOWN_ACTION"),
          );
          assert.deepEqual(await ctx.users.listPermissions(), []);
        });

        it("refuses grants to roles or users that do not exist, and writes nothing", async () => {
          await ctx.users.createRole({ name: "staff" });
          await ctx.users.createRole({ name: "admins" });
          await assert.rejects(
            ctx.users.grant("secret", { roles: ["staff", "ghost"] }),
            kamihiError("KAMIHI_ROLE_NOT_FOUND", (error) => {
              assert.deepEqual(error.details.missing, ["ghost"]);
              assert.deepEqual([...(error.details.roles as string[])].sort(), ["admins", "staff"]);
              assert.match(error.message, /admins, staff/);
            }),
          );
          await assert.rejects(
            ctx.users.grant("secret", { users: [3001, 3999, 3998] }),
            kamihiError("KAMIHI_USER_NOT_FOUND", (error) => {
              assert.deepEqual(error.details.missing, [3999, 3998]);
            }),
          );
          await assert.rejects(
            ctx.users.grant("secret", { users: [0] }),
            kamihiError("KAMIHI_USER_INVALID"),
          );
          assert.deepEqual(await ctx.users.listPermissions(), []);
        });

        it("grants to users and roles, adding to what is there", async () => {
          await ctx.users.createUser({ telegramId: 3002, firstName: "B" });
          const first = await ctx.users.grant("secret", { users: [3001] });
          assert.deepEqual(first, { action: "secret", users: [3001], roles: [] });
          const second = await ctx.users.grant("secret", { users: [3001, 3002], roles: ["staff"] });
          assert.deepEqual([...second.users].sort(), [3001, 3002]);
          assert.deepEqual(second.roles, ["staff"]);
          await ctx.users.grant("start", { roles: ["staff", "staff"] });
          const listed = await ctx.users.listPermissions();
          assert.deepEqual(
            listed.map((p) => p.action),
            ["secret", "start"],
          );
          assert.deepEqual([...(listed[0]?.users ?? [])].sort(), [3001, 3002]);
          assert.deepEqual(listed[0]?.roles, ["staff"]);
          assert.deepEqual(listed[1], { action: "start", users: [], roles: ["staff"] });
        });

        it("revokes users and roles", async () => {
          const revoked = await ctx.users.revoke("secret", { users: [3002], roles: ["staff"] });
          assert.deepEqual(revoked, { action: "secret", users: [3001], roles: [] });
          const listed = (await ctx.users.listPermissions()).find((p) => p.action === "secret");
          assert.deepEqual(listed, { action: "secret", users: [3001], roles: [] });
          const b = await ctx.users.getUser(3002);
          assert.ok(b !== null);
          assert.equal(await ctx.users.can(b, "secret"), false);
        });

        it("removes a permission entirely", async () => {
          assert.equal(await ctx.users.removePermission("start"), true);
          assert.equal(await ctx.users.removePermission("start"), false);
          assert.deepEqual(
            (await ctx.users.listPermissions()).map((p) => p.action),
            ["secret"],
          );
        });

        it("can(): admins may do anything, others what a user or role grant allows", async () => {
          await ctx.users.createRole({ name: "helpers" });
          const admin = await ctx.users.createUser({
            telegramId: 3010,
            firstName: "Ad",
            isAdmin: true,
          });
          const direct = await ctx.users.createUser({ telegramId: 3011, firstName: "Di" });
          const viaRole = await ctx.users.createUser({
            telegramId: 3012,
            firstName: "Ro",
            roles: ["helpers"],
          });
          const nobody = await ctx.users.createUser({ telegramId: 3013, firstName: "No" });
          await ctx.users.grant("help", { users: [3011], roles: ["helpers"] });

          assert.equal(await ctx.users.can(admin, "help"), true);
          assert.equal(await ctx.users.can(admin, "anything-at-all"), true);
          assert.equal(await ctx.users.can(direct, "help"), true);
          assert.equal(await ctx.users.can(direct, "secret"), false);
          assert.equal(await ctx.users.can(viaRole, "help"), true);
          assert.equal(await ctx.users.can(nobody, "help"), false);

          await ctx.users.revoke("help", { users: [3011] });
          assert.equal(await ctx.users.can(direct, "help"), false);
          assert.equal(await ctx.users.can(viaRole, "help"), true);
          await ctx.users.revoke("help", { roles: ["helpers"] });
          assert.equal(await ctx.users.can(viaRole, "help"), false);
        });

        it("can(): blocked and pending users may do nothing, admins included", async () => {
          const blocked = await ctx.users.createUser({
            telegramId: 3020,
            firstName: "Bl",
            status: "blocked",
          });
          const pending = await ctx.users.createUser({
            telegramId: 3021,
            firstName: "Pe",
            status: "pending",
          });
          const blockedAdmin = await ctx.users.createUser({
            telegramId: 3022,
            firstName: "BA",
            status: "blocked",
            isAdmin: true,
          });
          await ctx.users.grant("start", { users: [3020, 3021] });
          for (const user of [blocked, pending, blockedAdmin]) {
            assert.equal(await ctx.users.can(user, "start"), false, `${user.telegramId}`);
            assert.deepEqual(await ctx.users.allowedActions(user), [], `${user.telegramId}`);
          }
          const active = { ...blocked, status: "active" } satisfies User;
          assert.equal(await ctx.users.can(active, "start"), true);
        });

        it("allowedActions() follows the order of the bot's actions", async () => {
          await ctx.users.createUser({ telegramId: 3030, firstName: "Or" });
          await ctx.users.grant("help", { users: [3030] });
          await ctx.users.grant("start", { users: [3030] });
          const user = await ctx.users.getUser(3030);
          assert.ok(user !== null);
          assert.deepEqual(await ctx.users.allowedActions(user), ["start", "help"]);

          const admin = await ctx.users.getUser(3010);
          assert.ok(admin !== null);
          assert.deepEqual(await ctx.users.allowedActions(admin), ["start", "secret", "help"]);

          // An action the bot no longer has is not offered, even though a grant still names it.
          actions = ["help", "secret"];
          try {
            assert.deepEqual(await ctx.users.allowedActions(user), ["help"]);
            assert.deepEqual(await ctx.users.allowedActions(admin), ["help", "secret"]);
          } finally {
            actions = ["start", "secret", "help"];
          }
        });
      });

      describe("resolve", () => {
        describe("registration closed", () => {
          const clock = manualClock();
          const ctx = withService(backend, { schema: profileSchema, clock });

          it("leaves strangers unknown and stores nothing", async () => {
            assert.deepEqual(await ctx.users.resolve(tg(4001)), { outcome: "unknown" });
            assert.deepEqual(await ctx.users.resolve(tg(4001)), { outcome: "unknown" });
            assert.equal(await ctx.users.getUser(4001), null);
            assert.equal(await ctx.store.collection("users").countDocuments({}), 0);
          });

          it("finds known, blocked and pending users", async () => {
            await ctx.users.createUser({ telegramId: 4002, firstName: "Known" });
            await ctx.users.createUser({
              telegramId: 4003,
              firstName: "Blocked",
              status: "blocked",
            });
            await ctx.users.createUser({
              telegramId: 4004,
              firstName: "Pending",
              status: "pending",
            });
            const known = await ctx.users.resolve(tg(4002, "Known"));
            assert.equal(known.outcome, "known");
            assert.ok("user" in known);
            assert.equal(known.user.telegramId, 4002);
            assert.deepEqual(known.user.data, { city: "Madrid", vip: false });
            assert.equal((await ctx.users.resolve(tg(4003, "Blocked"))).outcome, "blocked");
            assert.equal((await ctx.users.resolve(tg(4004, "Pending"))).outcome, "pending");
          });

          it("a stranger added later is known at once", async () => {
            assert.deepEqual(await ctx.users.resolve(tg(4005)), { outcome: "unknown" });
            await ctx.users.createUser({ telegramId: 4005, firstName: "Late" });
            assert.equal((await ctx.users.resolve(tg(4005, "Late"))).outcome, "known");
          });

          it("refreshes the profile from Telegram and saves it with lastSeenAt", async () => {
            const created = await ctx.users.createUser({
              telegramId: 4010,
              firstName: "Ann",
              lastName: "Old",
              username: "ann",
            });
            assert.equal(created.createdAt.getTime(), clock(), "createdAt is the service's clock");
            clock.advance(5_000);
            const profile = tg(4010, "Anna", { username: "anna_new", language_code: "es" });
            const resolved = await ctx.users.resolve(profile);
            assert.equal(resolved.outcome, "known");
            assert.ok("user" in resolved);
            assert.equal(resolved.user.firstName, "Anna");
            assert.equal(resolved.user.username, "anna_new");
            assert.equal(resolved.user.languageCode, "es");
            assert.equal(resolved.user.lastName, undefined);
            assert.equal(resolved.user.lastSeenAt?.getTime(), clock());

            await ctx.users.flush();
            const stored = await ctx.users.getUser(4010);
            assert.ok(stored !== null);
            assert.equal(stored.firstName, "Anna");
            assert.equal(stored.username, "anna_new");
            assert.equal(stored.languageCode, "es");
            assert.equal("lastName" in stored, false);
            assert.equal(stored.lastSeenAt?.getTime(), clock());
            assert.equal(stored.createdAt.getTime(), created.createdAt.getTime());

            const again = await ctx.users.resolve(tg(4010, "Annabel", { username: "anna_new" }));
            assert.ok("user" in again);
            assert.equal(again.user.firstName, "Annabel");
            await ctx.users.flush();
            assert.equal((await ctx.users.getUser(4010))?.firstName, "Annabel");
          });

          it("saves lastSeenAt of an unchanged profile at most once a minute", async () => {
            await ctx.users.createUser({ telegramId: 4011, firstName: "Steady" });
            const seenAt = clock();
            await ctx.users.resolve(tg(4011, "Steady"));
            await ctx.users.flush();
            assert.equal((await ctx.users.getUser(4011))?.lastSeenAt?.getTime(), seenAt);

            clock.advance(59_999);
            const soon = await ctx.users.resolve(tg(4011, "Steady"));
            assert.ok("user" in soon);
            assert.equal(soon.user.lastSeenAt?.getTime(), seenAt);
            await ctx.users.flush();
            assert.equal((await ctx.users.getUser(4011))?.lastSeenAt?.getTime(), seenAt);

            clock.advance(1);
            const later = await ctx.users.resolve(tg(4011, "Steady"));
            assert.ok("user" in later);
            assert.equal(later.user.lastSeenAt?.getTime(), clock());
            await ctx.users.flush();
            assert.equal((await ctx.users.getUser(4011))?.lastSeenAt?.getTime(), clock());
          });

          it("close() saves every lastSeenAt still waiting to be written", async () => {
            const ids = Array.from({ length: 30 }, (_, i) => 4300 + i);
            for (const id of ids) await ctx.users.createUser({ telegramId: id, firstName: "Late" });
            clock.advance(1_000);
            // Written two at a time: most of them are still queued when close() is called.
            await Promise.all(ids.map((id) => ctx.users.resolve(tg(id, "Late"))));
            await ctx.users.close();
            const seen = await ctx.store
              .collection("users")
              .countDocuments({ telegramId: { $in: ids }, lastSeenAt: new Date(clock()) });
            assert.equal(seen, ids.length);
          });
        });

        describe("registration open", () => {
          const ctx = withService(backend, {
            schema: profileSchema,
            registration: "open",
            defaultRoles: ["member", "ghost"],
          });

          it("registers strangers as active with the default roles that exist", async () => {
            await ctx.users.createRole({ name: "member" });
            const resolved = await ctx.users.resolve(
              tg(4101, "Newcomer", { last_name: "Doe", username: "@newbie" }),
            );
            assert.equal(resolved.outcome, "registered");
            assert.ok("user" in resolved);
            assert.equal(resolved.user.status, "active");
            assert.deepEqual(resolved.user.roles, ["member"]);
            assert.deepEqual(resolved.user.data, { city: "Madrid", vip: false });
            assert.equal(resolved.user.isAdmin, false);
            assert.ok(resolved.user.lastSeenAt instanceof Date);

            const stored = await ctx.users.getUser(4101);
            assert.ok(stored !== null);
            assert.equal(stored.firstName, "Newcomer");
            assert.equal(stored.lastName, "Doe");
            assert.equal(stored.username, "newbie");
            assert.equal(stored.status, "active");
            assert.deepEqual(stored.roles, ["member"]);
            assert.deepEqual(stored.data, { city: "Madrid", vip: false });

            const next = await ctx.users.resolve(tg(4101, "Newcomer"));
            assert.equal(next.outcome, "known");
          });

          it("registers a stranger once when their updates arrive at the same time", async () => {
            const results = await Promise.all(
              Array.from({ length: 10 }, () => ctx.users.resolve(tg(4102, "Racer"))),
            );
            const outcomes = results.map((r) => r.outcome);
            assert.equal(outcomes.filter((o) => o === "registered").length, 1, outcomes.join());
            assert.equal(outcomes.filter((o) => o === "known").length, 9, outcomes.join());
            for (const result of results) {
              assert.ok("user" in result);
              assert.equal(result.user.telegramId, 4102);
            }
            assert.equal(
              await ctx.store.collection("users").countDocuments({ telegramId: 4102 }),
              1,
            );
          });

          it("skips a default role that is no role name, and still registers", async () => {
            const users = createUserService({
              store: ctx.store,
              registration: "open",
              defaultRoles: ["  ", "member"],
            });
            const resolved = await users.resolve(tg(4104, "Loose"));
            assert.equal(resolved.outcome, "registered");
            assert.ok("user" in resolved);
            assert.deepEqual(resolved.user.roles, ["member"]);
          });

          it("still finds blocked users as blocked", async () => {
            await ctx.users.createUser({ telegramId: 4103, firstName: "Bad", status: "blocked" });
            assert.equal((await ctx.users.resolve(tg(4103, "Bad"))).outcome, "blocked");
          });
        });

        describe("registration by approval", () => {
          const ctx = withService(backend, { registration: "approval" });

          it("registers strangers as pending", async () => {
            const resolved = await ctx.users.resolve(tg(4201, "Waiting"));
            assert.equal(resolved.outcome, "registered");
            assert.ok("user" in resolved);
            assert.equal(resolved.user.status, "pending");
            assert.deepEqual(resolved.user.roles, []);
            assert.equal((await ctx.users.getUser(4201))?.status, "pending");
            assert.equal((await ctx.users.resolve(tg(4201, "Waiting"))).outcome, "pending");
          });

          it("decide(): approving makes a pending user active, once", async () => {
            const decision = await ctx.users.decide(4201, true);
            assert.equal(decision.outcome, "applied");
            assert.ok("user" in decision);
            assert.equal(decision.user.status, "active");
            assert.equal((await ctx.users.getUser(4201))?.status, "active");
            assert.equal((await ctx.users.resolve(tg(4201, "Waiting"))).outcome, "known");

            const again = await ctx.users.decide(4201, false);
            assert.equal(again.outcome, "already");
            assert.ok("user" in again);
            assert.equal(again.user.status, "active");
            assert.equal((await ctx.users.getUser(4201))?.status, "active");
          });

          it("decide(): denying blocks a pending user", async () => {
            await ctx.users.resolve(tg(4202, "Denied"));
            const decision = await ctx.users.decide(4202, false);
            assert.equal(decision.outcome, "applied");
            assert.ok("user" in decision);
            assert.equal(decision.user.status, "blocked");
            assert.equal((await ctx.users.resolve(tg(4202, "Denied"))).outcome, "blocked");
          });

          it("decide(): of 10 admins deciding at once, exactly one applies", async () => {
            await ctx.users.resolve(tg(4203, "Contested"));
            const decisions = await Promise.all(
              Array.from({ length: 10 }, (_, i) => ctx.users.decide(4203, i % 2 === 0)),
            );
            const applied = decisions.filter((d) => d.outcome === "applied");
            assert.equal(applied.length, 1, decisions.map((d) => d.outcome).join());
            assert.equal(decisions.filter((d) => d.outcome === "already").length, 9);
            const winner = applied[0];
            assert.ok(winner !== undefined && "user" in winner);
            assert.equal((await ctx.users.getUser(4203))?.status, winner.user.status);
            for (const decision of decisions) {
              assert.ok("user" in decision);
              assert.equal(decision.user.status, winner.user.status);
            }
          });

          it("decide(): a user who is not pending is already decided; an unknown one is missing", async () => {
            await ctx.users.createUser({ telegramId: 4204, firstName: "Active" });
            const decision = await ctx.users.decide(4204, false);
            assert.equal(decision.outcome, "already");
            assert.equal((await ctx.users.getUser(4204))?.status, "active");
            assert.deepEqual(await ctx.users.decide(4299, true), { outcome: "missing" });
            assert.equal(await ctx.users.getUser(4299), null);
            await assert.rejects(ctx.users.decide(0, true), kamihiError("KAMIHI_USER_INVALID"));
          });
        });
      });

      describe("listUsers", () => {
        const ctx = withService(backend);
        const fillers = Array.from({ length: 23 }, (_, i) => 5100 + i);

        it("lists with filters and paging", async () => {
          await ctx.users.createRole({ name: "staff" });
          await ctx.users.createUser({
            telegramId: 5001,
            firstName: "Ann",
            lastName: "Smith",
            username: "annie",
            roles: ["staff"],
          });
          await ctx.users.createUser({
            telegramId: 5002,
            firstName: "Bob",
            username: "bobby",
            status: "blocked",
          });
          await ctx.users.createUser({ telegramId: 5003, firstName: "Carl.*", status: "pending" });
          await ctx.users.createUser({ telegramId: 5004, firstName: "Dana (x)", isAdmin: true });
          await ctx.users.createUser({ telegramId: 5005, firstName: '{"$gt": ""}' });
          for (const id of fillers) {
            await ctx.users.createUser({ telegramId: id, firstName: "Filler" });
          }

          const all = await ctx.users.listUsers();
          assert.equal(all.total, 5 + fillers.length);
          assert.equal(all.users.length, 5 + fillers.length);
          assert.equal(all.next, undefined);
        });

        const ids = async (query: Parameters<typeof ctx.users.listUsers>[0]) => {
          const page = await ctx.users.listUsers(query);
          assert.equal(page.total, page.users.length, "a single page holds everything");
          return page.users.map((u) => u.telegramId);
        };

        it("filters by role, status and admin", async () => {
          assert.deepEqual(await ids({ role: "staff" }), [5001]);
          assert.deepEqual(await ids({ role: "nobody" }), []);
          assert.deepEqual(await ids({ status: "blocked" }), [5002]);
          assert.deepEqual(await ids({ status: "pending" }), [5003]);
          assert.deepEqual(await ids({ isAdmin: true }), [5004]);
          assert.equal((await ids({ isAdmin: false })).includes(5004), false);
          assert.equal((await ids({ isAdmin: false })).length, 4 + fillers.length);
          assert.deepEqual(await ids({ status: "active", isAdmin: true }), [5004]);
          assert.deepEqual(await ids({ status: "blocked", role: "staff" }), []);
        });

        it("searches names and usernames case-insensitively, and ids by digits", async () => {
          assert.deepEqual(await ids({ search: "ANN" }), [5001]);
          assert.deepEqual(await ids({ search: " smith " }), [5001]);
          assert.deepEqual(await ids({ search: "BOBBY" }), [5002]);
          assert.deepEqual(await ids({ search: "@bobby" }), [5002]);
          assert.deepEqual(await ids({ search: "5004" }), [5004]);
          assert.deepEqual(await ids({ search: "filler", limit: 1000 }), fillers);
          assert.deepEqual(await ids({ search: "ann", role: "staff" }), [5001]);
          assert.deepEqual(await ids({ search: "ann", status: "blocked" }), []);
          assert.equal((await ids({ search: "   " })).length, 5 + fillers.length);
        });

        it("matches regex metacharacters literally", async () => {
          assert.deepEqual(await ids({ search: ".*" }), [5003]);
          assert.deepEqual(await ids({ search: "(" }), [5004]);
          assert.deepEqual(await ids({ search: "(x)" }), [5004]);
          assert.deepEqual(await ids({ search: "[" }), []);
          assert.deepEqual(await ids({ search: "a|b" }), []);
          assert.deepEqual(await ids({ search: "^A" }), []);
          assert.deepEqual(await ids({ search: "\\" }), []);
        });

        it("never lets a query value act as an operator", async () => {
          assert.deepEqual(await ids({ search: '{"$gt": ""}' }), [5005]);
          assert.deepEqual(await ids({ search: "$gt" }), [5005]);
          assert.deepEqual(await ids({ role: '{"$ne": null}' }), []);
          assert.deepEqual(await ids({ role: "$ne" }), []);
          await assert.rejects(
            ctx.users.listUsers({ role: outside({ $ne: null }) }),
            kamihiError("KAMIHI_DB_INVALID_QUERY"),
          );
          await assert.rejects(
            ctx.users.listUsers({ role: outside({ $gt: "" }) }),
            kamihiError("KAMIHI_DB_INVALID_QUERY"),
          );
          await assert.rejects(
            ctx.users.listUsers({ status: outside({ $ne: null }) }),
            kamihiError("KAMIHI_USER_QUERY_INVALID"),
          );
          // Not a text at all: refused, never run as a filter that matches everyone.
          await assert.rejects(ctx.users.listUsers({ search: outside({ $gt: "" }) }));
        });

        it("pages through every user exactly once", async () => {
          const seen: number[] = [];
          let after: string | undefined;
          let pages = 0;
          do {
            const page = await ctx.users.listUsers({
              limit: 4,
              ...(after === undefined ? {} : { after }),
            });
            assert.equal(page.total, 5 + fillers.length);
            assert.ok(page.users.length <= 4);
            seen.push(...page.users.map((u) => u.telegramId));
            after = page.next;
            pages++;
            assert.ok(pages < 50, "paging does not end");
          } while (after !== undefined);
          const expected = [5001, 5002, 5003, 5004, 5005, ...fillers];
          assert.deepEqual(seen, expected);
          assert.equal(pages, Math.ceil(expected.length / 4));
        });

        it("pages through a filtered list, with the filter's total", async () => {
          const seen: number[] = [];
          let after: string | undefined;
          do {
            const page = await ctx.users.listUsers({
              search: "filler",
              limit: 5,
              ...(after === undefined ? {} : { after }),
            });
            assert.equal(page.total, fillers.length);
            seen.push(...page.users.map((u) => u.telegramId));
            after = page.next;
          } while (after !== undefined);
          assert.deepEqual(seen, fillers);
        });

        it("a page exactly at the end has no next cursor", async () => {
          const page = await ctx.users.listUsers({ search: "filler", limit: fillers.length });
          assert.equal(page.users.length, fillers.length);
          assert.equal(page.next, undefined);
        });

        it("refuses a cursor it did not hand out", async () => {
          await assert.rejects(
            ctx.users.listUsers({ after: "abc" }),
            kamihiError("KAMIHI_USER_QUERY_INVALID", (error) => {
              assert.deepEqual(issuePaths(error), ["after"]);
            }),
          );
        });
      });

      describe("ensureAdmins", () => {
        const ctx = withService(backend, { schema: profileSchema });

        it("creates missing admins and promotes existing users, idempotently", async () => {
          await ctx.users.createUser({ telegramId: 6002, firstName: "Zed", status: "blocked" });
          const changes: AccessChange[] = [];
          const stop = ctx.users.onChange((change) => changes.push(change));
          try {
            await ctx.users.ensureAdmins([6001, 6002]);
            const created = await ctx.users.getUser(6001);
            assert.ok(created !== null);
            assert.equal(created.isAdmin, true);
            assert.equal(created.status, "active");
            assert.equal(created.firstName, "Admin 6001");
            assert.deepEqual(created.roles, []);
            assert.deepEqual(created.data, { city: "Madrid", vip: false });
            assert.ok(created.createdAt instanceof Date);

            const promoted = await ctx.users.getUser(6002);
            assert.ok(promoted !== null);
            assert.equal(promoted.isAdmin, true);
            assert.equal(promoted.status, "active");
            assert.equal(promoted.firstName, "Zed");
            assert.deepEqual(changes, [{ users: [6001, 6002] }]);

            await ctx.users.ensureAdmins([6001, 6002]);
            assert.deepEqual(changes, [{ users: [6001, 6002] }], "nothing changed the second time");
            const count = await ctx.store
              .collection("users")
              .countDocuments({ telegramId: { $in: [6001, 6002] } });
            assert.equal(count, 2);
            assert.equal((await ctx.users.getUser(6001))?.firstName, "Admin 6001");

            const resolved = await ctx.users.resolve(tg(6002, "Zed"));
            assert.equal(resolved.outcome, "known");
            assert.ok("user" in resolved);
            assert.equal(await ctx.users.can(resolved.user, "whatever"), true);
          } finally {
            stop();
          }
        });

        it("refuses an invalid id", async () => {
          await assert.rejects(ctx.users.ensureAdmins([0]), kamihiError("KAMIHI_USER_INVALID"));
          await assert.rejects(
            ctx.users.ensureAdmins([outside<number>({ $gt: 0 })]),
            kamihiError("KAMIHI_USER_INVALID"),
          );
          assert.equal(await ctx.users.getUser(6001).then((u) => u?.isAdmin), true);
        });
      });

      describe("input safety", () => {
        const ctx = withService(backend, { actions: () => ["start", "secret"] });
        const op = outside<string>({ $gt: "" });

        it("a role name that is an operator object matches nothing and changes nothing", async () => {
          await ctx.users.createRole({ name: "staff" });
          await ctx.users.createRole({ name: "other" });
          await ctx.users.createUser({ telegramId: 7001, firstName: "S", roles: ["staff"] });
          await ctx.users.grant("start", { users: [7001], roles: ["staff", "other"] });

          await assert.rejects(
            ctx.users.createRole({ name: op }),
            kamihiError("KAMIHI_ROLE_INVALID_NAME"),
          );
          await assert.rejects(
            ctx.users.assignRole(op, 7001),
            kamihiError("KAMIHI_ROLE_INVALID_NAME"),
          );
          await assert.rejects(
            ctx.users.unassignRole(op, 7001),
            kamihiError("KAMIHI_ROLE_INVALID_NAME"),
          );
          await assert.rejects(
            ctx.users.updateUser(7001, { roles: [op] }),
            kamihiError("KAMIHI_ROLE_INVALID_NAME"),
          );
          await assert.rejects(
            ctx.users.grant("secret", { roles: [op] }),
            kamihiError("KAMIHI_ROLE_INVALID_NAME"),
          );
          await assert.rejects(
            ctx.users.grant("secret", { users: [outside<number>({ $gt: 0 })] }),
            kamihiError("KAMIHI_USER_INVALID"),
          );
          await assert.rejects(ctx.users.deleteRole(op), kamihiError("KAMIHI_ROLE_INVALID_NAME"));
          await assert.rejects(ctx.users.removePermission(op));
          await assert.rejects(
            ctx.users.getUser(outside<number>({ $gt: 0 })),
            kamihiError("KAMIHI_USER_INVALID"),
          );

          assert.deepEqual(
            (await ctx.users.listRoles()).map((r) => r.name),
            ["other", "staff"],
          );
          assert.deepEqual((await ctx.users.getUser(7001))?.roles, ["staff"]);
          assert.deepEqual(await ctx.users.listPermissions(), [
            { action: "start", users: [7001], roles: ["staff", "other"] },
          ]);
        });

        it("revoke() with an operator object as a role takes no role off", async () => {
          // `$pull: { roles: { $ne: null } }` would take every role off the permission.
          await ctx.users
            .revoke("start", { roles: [outside<string>({ $ne: null })] })
            .catch(() => undefined);
          await ctx.users
            .revoke("start", { roles: [outside<string>({ $gt: "" })] })
            .catch(() => undefined);
          const start = (await ctx.users.listPermissions()).find((p) => p.action === "start");
          assert.deepEqual(start?.roles, ["staff", "other"]);
        });

        it("revoke() with an operator object as a user takes no user off", async () => {
          await assert.rejects(
            ctx.users.revoke("start", { users: [outside<number>({ $gt: 0 })] }),
            kamihiError("KAMIHI_USER_INVALID"),
          );
          const start = (await ctx.users.listPermissions()).find((p) => p.action === "start");
          assert.deepEqual(start?.users, [7001]);
        });
      });
    },
  );
}

describe("fields", () => {
  it("are read from the user schema", async () => {
    const { createMemoryStore } = await import("@kamihi/db");
    const users = createUserService({
      store: createMemoryStore(),
      schema: v.object({
        city: v.string(),
        age: v.pipe(v.number(), v.integer()),
        score: v.number(),
        vip: v.optional(v.boolean(), false),
        plan: v.picklist(["free", "pro"]),
        nick: v.optional(v.string()),
        note: v.nullish(v.string()),
        tags: v.array(v.string()),
        born: v.date(),
        extra: v.unknown(),
      }),
    });
    assert.deepEqual(users.fields(), [
      { name: "city", optional: false, type: "string" },
      { name: "age", optional: false, type: "integer" },
      { name: "score", optional: false, type: "number" },
      { name: "vip", optional: true, type: "boolean" },
      { name: "plan", optional: false, type: "choice", options: ["free", "pro"] },
      { name: "nick", optional: true, type: "string" },
      { name: "note", optional: true, type: "string" },
      { name: "tags", optional: false, type: "list" },
      { name: "born", optional: false, type: "date" },
      { name: "extra", optional: false, type: "unknown" },
    ]);
  });

  it("are empty without a schema, or for a schema that is not an object", async () => {
    const { createMemoryStore } = await import("@kamihi/db");
    assert.deepEqual(createUserService({ store: createMemoryStore() }).fields(), []);
    const notAnObject = outside<typeof profileSchema>(v.string());
    assert.deepEqual(
      createUserService({ store: createMemoryStore(), schema: notAnObject }).fields(),
      [],
    );
  });
});
