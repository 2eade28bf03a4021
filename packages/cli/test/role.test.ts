import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  assertFailed,
  assertOk,
  assertUsage,
  project,
  type TestProject,
} from "./helpers/project.js";

/** Roles staff (described) and ops; Ada (42) has both, Bob (7) has ops; buy is granted to ops. */
async function populated(): Promise<TestProject> {
  const p = project();
  await p.users.createRole({ name: "staff", description: "The team" });
  await p.users.createRole({ name: "ops" });
  await p.users.createUser({ telegramId: 42, firstName: "Ada", roles: ["staff", "ops"] });
  await p.users.createUser({ telegramId: 7, firstName: "Bob", roles: ["ops"] });
  await p.users.createUser({ telegramId: 9, firstName: "Cy" });
  await p.users.grant("buy", { roles: ["ops"], users: [9] });
  return p;
}

describe("role add", () => {
  it("adds a role, with an optional description", async () => {
    const p = project();
    assertOk(await p.run("role", "add", "staff"), "Added role staff.\n");
    assertOk(
      await p.run("role", "add", "ops", "--description", "Keeps the lights on"),
      "Added role ops.\n",
    );
    const roles = await p.users.listRoles();
    assert.deepEqual(
      roles.map(({ name, description }) => ({ name, description })),
      [
        { name: "ops", description: "Keeps the lights on" },
        { name: "staff", description: undefined },
      ],
    );
  });

  it("a role that exists already is a failure", async () => {
    const p = await populated();
    assertFailed(await p.run("role", "add", "staff"), 'The role "staff" already exists.');
    assert.equal((await p.users.listRoles()).length, 2);
  });

  it("an invalid name is a failure saying what a name may hold", async () => {
    const p = project();
    for (const name of ["bad name!", "a/b", "x".repeat(65), ""]) {
      assertFailed(
        await p.run("role", "add", name),
        `"${name}" is not a valid role name: use 1 to 64 letters, digits, "_", "-" or ".".`,
      );
    }
    assertOk(await p.run("role", "add", "día-1_v2.0"), "Added role día-1_v2.0.\n");
    assert.deepEqual(
      (await p.users.listRoles()).map((r) => r.name),
      ["día-1_v2.0"],
    );
  });

  // Bug: add and remove echo the argument, not the role's name (the service trims it).
  it("names the role as it was stored", async () => {
    const p = project();
    const run = await p.run("role", "add", " ops ");
    assert.deepEqual(
      (await p.users.listRoles()).map((r) => r.name),
      ["ops"],
    );
    assertOk(run, "Added role ops.\n");
    assertOk(await p.run("role", "remove", " ops "), "Removed role ops.\n");
  });

  it("needs a name", async () => {
    assertUsage(await project().run("role", "add"), /missing required argument 'name'/);
  });
});

describe("role list", () => {
  it("prints the roles with their member counts and descriptions", async () => {
    const p = await populated();
    assertOk(
      await p.run("role", "list"),
      ["ROLE   MEMBERS  DESCRIPTION", "ops    2", "staff  1        The team", ""].join("\n"),
    );
  });

  it("says how to add one when there are none", async () => {
    assertOk(
      await project().run("role", "list"),
      "No roles yet; add one with `kamihi role add <name>`.\n",
    );
  });

  it("--json prints the roles with their members", async () => {
    const p = await populated();
    const roles = JSON.parse(assertOk(await p.run("role", "list", "--json"))) as Record<
      string,
      unknown
    >[];
    assert.deepEqual(
      roles.map(({ createdAt, ...rest }) => {
        assert.ok(!Number.isNaN(Date.parse(String(createdAt))), "createdAt is a date");
        return rest;
      }),
      [
        { name: "ops", members: 2 },
        { name: "staff", description: "The team", members: 1 },
      ],
    );
    assertOk(await project().run("role", "list", "--json"), "[]\n");
  });
});

describe("role remove", () => {
  it("removes the role from its members and its permissions", async () => {
    const p = await populated();
    assertOk(await p.run("role", "remove", "ops"), "Removed role ops.\n");
    assert.deepEqual(
      (await p.users.listRoles()).map((r) => r.name),
      ["staff"],
    );
    assert.deepEqual((await p.user(42)).roles, ["staff"]);
    assert.deepEqual((await p.user(7)).roles, []);
    assert.deepEqual(await p.users.listPermissions(), [{ action: "buy", users: [9], roles: [] }]);
    assert.equal(await p.users.can(await p.user(7), "buy"), false);
  });

  it("an unknown role is a failure listing the roles", async () => {
    const p = await populated();
    assertFailed(await p.run("role", "remove", "nope"), 'No role named "nope". Roles: ops, staff.');
    assertFailed(
      await project().run("role", "remove", "nope"),
      'No role named "nope". Roles: (none).',
    );
  });
});

describe("role assign / unassign", () => {
  it("gives a user a role, and takes it off", async () => {
    const p = await populated();
    assertOk(await p.run("role", "assign", "staff", "9"), "Cy (9) now has roles: staff.\n");
    assert.deepEqual((await p.user(9)).roles, ["staff"]);
    assertOk(await p.run("role", "assign", "ops", "9"), "Cy (9) now has roles: staff, ops.\n");
    assertOk(await p.run("role", "assign", "ops", "9"), "Cy (9) now has roles: staff, ops.\n");
    assertOk(await p.run("role", "unassign", "staff", "9"), "Cy (9) now has roles: ops.\n");
    assertOk(await p.run("role", "unassign", "ops", "9"), "Cy (9) now has roles: (none).\n");
    assert.deepEqual((await p.user(9)).roles, []);
  });

  it("a role change changes what the user may run", async () => {
    const p = await populated();
    const cy = async () => p.users.can(await p.user(9), "secret");
    await p.users.grant("secret", { roles: ["staff"] });
    assert.equal(await cy(), false);
    assertOk(await p.run("role", "assign", "staff", "9"));
    assert.equal(await cy(), true);
    assertOk(await p.run("role", "unassign", "staff", "9"));
    assert.equal(await cy(), false);
  });

  it("an unknown role is a failure listing the roles", async () => {
    const p = await populated();
    for (const command of ["assign", "unassign"]) {
      assertFailed(
        await p.run("role", command, "nope", "42"),
        'No role named "nope". Roles: ops, staff.',
      );
    }
    assert.deepEqual((await p.user(42)).roles, ["staff", "ops"]);
  });

  it("an unknown user is a failure", async () => {
    const p = await populated();
    for (const command of ["assign", "unassign"]) {
      assertFailed(
        await p.run("role", command, "staff", "99"),
        "No user with Telegram id 99; `kamihi user list` shows the users there are.",
      );
    }
  });

  it("a bad Telegram id is a usage error", async () => {
    const p = await populated();
    assertUsage(await p.run("role", "assign", "staff", "abc"), /got "abc"/);
    assertUsage(await p.run("role", "unassign", "staff", "0"), /got "0"/);
    assert.deepEqual(p.roots, []);
  });
});
