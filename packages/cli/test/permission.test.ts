import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createUserService } from "@kamihi/users";
import {
  ACTIONS,
  assertFailed,
  assertOk,
  assertUsage,
  project,
  type TestProject,
} from "./helpers/project.js";

/** Roles staff and ops; Ada (42, staff), Bob (7, ops), Cy (9, no roles); nothing granted. */
async function populated(): Promise<TestProject> {
  const p = project();
  await p.users.createRole({ name: "staff" });
  await p.users.createRole({ name: "ops" });
  await p.users.createUser({ telegramId: 42, firstName: "Ada", roles: ["staff"] });
  await p.users.createUser({ telegramId: 7, firstName: "Bob", roles: ["ops"] });
  await p.users.createUser({ telegramId: 9, firstName: "Cy" });
  return p;
}

/** Who of Ada (42), Bob (7) and Cy (9) may run `action`, as the service decides now. */
async function allowed(p: TestProject, action: string): Promise<number[]> {
  const ids: number[] = [];
  for (const id of [42, 7, 9]) {
    if (await p.users.can(await p.user(id), action)) ids.push(id);
  }
  return ids;
}

const UNKNOWN = 'The bot has no action "nope". Its actions: buy, secret, start.';

describe("permission add", () => {
  it("lets roles and users run an action", async () => {
    const p = await populated();
    assertOk(
      await p.run("permission", "add", "buy", "--role", "staff"),
      "buy may now be run by admins and role staff.\n",
    );
    assert.deepEqual(await allowed(p, "buy"), [42]);
    assertOk(
      await p.run("permission", "add", "buy", "--user", "9"),
      "buy may now be run by admins and role staff and user 9.\n",
    );
    assert.deepEqual(await allowed(p, "buy"), [42, 9]);
    assert.deepEqual(await p.users.listPermissions(), [
      { action: "buy", users: [9], roles: ["staff"] },
    ]);
    assert.deepEqual(await allowed(p, "secret"), [], "other actions are untouched");
  });

  it("takes --role and --user more than once", async () => {
    const p = await populated();
    assertOk(
      await p.run(
        "permission",
        "add",
        "secret",
        "--role",
        "staff",
        "--role",
        "ops",
        "--user",
        "9",
        "--user",
        "42",
      ),
      "secret may now be run by admins and roles staff, ops and users 9, 42.\n",
    );
    assert.deepEqual(await allowed(p, "secret"), [42, 7, 9]);
  });

  it("needs --user or --role (exit 2, the project is not opened)", async () => {
    const p = await populated();
    const run = await p.run("permission", "add", "buy");
    assert.equal(run.code, 2);
    assert.equal(run.stdout, "");
    assert.equal(
      run.stderr,
      "error: permission add needs at least one --user <telegramId> or --role <role>.\n",
    );
    assert.deepEqual(p.roots, []);
    assert.deepEqual(await p.users.listPermissions(), []);
  });

  it("an unknown action is a failure listing the bot's actions", async () => {
    const p = await populated();
    assertFailed(await p.run("permission", "add", "nope", "--role", "staff"), UNKNOWN);
    assertFailed(await p.run("permission", "add", "nope", "--user", "42"), UNKNOWN);
    assert.deepEqual(await p.users.listPermissions(), []);
  });

  it("an unknown role or user is a failure, and grants nothing", async () => {
    const p = await populated();
    assertFailed(
      await p.run("permission", "add", "buy", "--role", "nope"),
      'No role named "nope". Roles: ops, staff.',
    );
    assertFailed(
      await p.run("permission", "add", "buy", "--user", "9", "--user", "99"),
      "No user with Telegram id 99; add them first (kamihi user add <telegramId>).",
    );
    assert.deepEqual(await p.users.listPermissions(), []);
    assert.deepEqual(await allowed(p, "buy"), []);
  });

  it("a bad --user is a usage error", async () => {
    const p = await populated();
    assertUsage(
      await p.run("permission", "add", "buy", "--user", "abc"),
      /expected a Telegram user id \(a positive integer\), got "abc"/,
    );
    assertUsage(await p.run("permission", "add", "buy", "--user"), /argument missing/);
  });
});

describe("permission list", () => {
  it("lists every action with its commands and who may run it", async () => {
    const p = await populated();
    assertOk(
      await p.run("permission", "list"),
      [
        "ACTION  COMMANDS    WHO MAY RUN IT",
        "buy     /buy        admins only",
        "secret  /secret /s  admins only",
        "start   /start      everyone (public)",
        "",
      ].join("\n"),
    );
    await p.users.grant("buy", { roles: ["staff", "ops"], users: [9] });
    await p.users.grant("secret", { users: [9] });
    await p.users.grant("start", { roles: ["ops"] });
    assertOk(
      await p.run("permission", "list"),
      [
        "ACTION  COMMANDS    WHO MAY RUN IT",
        "buy     /buy        admins, roles staff, ops and user 9",
        "secret  /secret /s  admins, user 9",
        "start   /start      everyone (public)",
        "",
      ].join("\n"),
    );
  });

  it("--action shows one action", async () => {
    const p = await populated();
    await p.users.grant("secret", { roles: ["ops"] });
    assertOk(
      await p.run("permission", "list", "--action", "secret"),
      "ACTION  COMMANDS    WHO MAY RUN IT\nsecret  /secret /s  admins, role ops\n",
    );
  });

  it("an unknown --action is a failure listing the bot's actions", async () => {
    const p = await populated();
    assertFailed(await p.run("permission", "list", "--action", "nope"), UNKNOWN);
  });

  it("says so when the bot has no actions", async () => {
    const p = project({ actions: [] });
    assertOk(await p.run("permission", "list"), "The bot has no actions.\n");
    assertFailed(
      await p.run("permission", "list", "--action", "buy"),
      'The bot has no action "buy". Its actions: (none).',
    );
  });

  it("--json prints the same as data", async () => {
    const p = await populated();
    await p.users.grant("buy", { roles: ["staff"], users: [9] });
    const rows = JSON.parse(assertOk(await p.run("permission", "list", "--json")));
    assert.deepEqual(rows, [
      { action: "buy", commands: ["/buy"], public: false, users: [9], roles: ["staff"] },
      { action: "secret", commands: ["/secret", "/s"], public: false, users: [], roles: [] },
      { action: "start", commands: ["/start"], public: true, users: [], roles: [] },
    ]);
    const one = JSON.parse(
      assertOk(await p.run("permission", "list", "--json", "--action", "buy")),
    );
    assert.deepEqual(
      one.map((r: { action: string }) => r.action),
      ["buy"],
    );
  });
});

describe("permission remove", () => {
  async function granted(): Promise<TestProject> {
    const p = await populated();
    await p.users.grant("buy", { roles: ["staff", "ops"], users: [9] });
    await p.users.grant("secret", { users: [9] });
    return p;
  }

  it("--role and --user take those off the action, and say who is left", async () => {
    const p = await granted();
    assert.deepEqual(await allowed(p, "buy"), [42, 7, 9]);
    assertOk(
      await p.run("permission", "remove", "buy", "--role", "ops"),
      "buy may now be run by admins and role staff and user 9.\n",
    );
    assert.deepEqual(await allowed(p, "buy"), [42, 9]);
    assertOk(
      await p.run("permission", "remove", "buy", "--user", "9", "--role", "staff"),
      "buy may now be run by admins only.\n",
    );
    assert.deepEqual(await allowed(p, "buy"), []);
    assert.deepEqual(await allowed(p, "secret"), [9], "other actions are untouched");
  });

  it("taking off someone who was not granted changes nothing", async () => {
    const p = await granted();
    assertOk(
      await p.run("permission", "remove", "secret", "--user", "42"),
      "secret may now be run by admins and user 9.\n",
    );
    assertOk(
      await p.run("permission", "remove", "buy", "--role", "nope"),
      "buy may now be run by admins and roles staff, ops and user 9.\n",
    );
  });

  it("without --user/--role takes every grant away", async () => {
    const p = await granted();
    assertOk(await p.run("permission", "remove", "buy"), "buy may now be run by admins only.\n");
    assert.deepEqual(await allowed(p, "buy"), []);
    assert.deepEqual(await p.users.listPermissions(), [
      { action: "secret", users: [9], roles: [] },
    ]);
    assertOk(await p.run("permission", "remove", "buy"), "buy may now be run by admins only.\n");
  });

  it("an unknown action is a failure listing the bot's actions", async () => {
    const p = await granted();
    assertFailed(await p.run("permission", "remove", "nope"), UNKNOWN);
    assertFailed(await p.run("permission", "remove", "nope", "--user", "9"), UNKNOWN);
    assertFailed(await p.run("permission", "remove", "nope", "--role", "staff"), UNKNOWN);
  });

  it("removes the grants of an action the bot no longer has", async () => {
    const p = await populated();
    const before = createUserService({
      store: p.store,
      actions: () => [...ACTIONS.map((a) => a.name), "legacy"],
    });
    await before.grant("legacy", { users: [9] });
    assertOk(
      await p.run("permission", "remove", "legacy"),
      "legacy may now be run by admins only.\n",
    );
    assert.deepEqual(await p.users.listPermissions(), []);
  });

  it("a bad --user is a usage error", async () => {
    const p = await granted();
    assertUsage(await p.run("permission", "remove", "buy", "--user", "1.5"), /got "1\.5"/);
    assert.deepEqual(await allowed(p, "buy"), [42, 7, 9]);
  });
});

describe("can() follows every change made through the commands", () => {
  it("admins, grants, roles, blocking and removal", async () => {
    const p = await populated();
    const steps: [string[], number[]][] = [
      [["permission", "add", "secret", "--role", "ops"], [7]],
      [
        ["user", "set-admin", "9", "true"],
        [7, 9],
      ],
      [
        ["role", "assign", "ops", "42"],
        [42, 7, 9],
      ],
      [
        ["user", "block", "7"],
        [42, 9],
      ],
      [
        ["user", "unblock", "7"],
        [42, 7, 9],
      ],
      [["permission", "remove", "secret", "--role", "ops"], [9]],
      [
        ["permission", "add", "secret", "--user", "42"],
        [42, 9],
      ],
      [["user", "set-admin", "9", "false"], [42]],
      [["permission", "remove", "secret"], []],
      [["permission", "add", "secret", "--role", "staff"], [42]],
      [["role", "remove", "staff"], []],
    ];
    for (const [argv, expected] of steps) {
      assertOk(await p.run(...argv));
      assert.deepEqual(await allowed(p, "secret"), expected, argv.join(" "));
    }
    assertOk(await p.run("permission", "add", "secret", "--user", "7"));
    assert.deepEqual(await allowed(p, "secret"), [7]);
    assertOk(await p.run("user", "remove", "7"));
    assert.deepEqual(await p.users.listPermissions(), [{ action: "secret", users: [], roles: [] }]);
  });
});

// Bug: add and remove report "admins (only)" for a public action, which everyone may run (as
// `permission list` says): the grants do not narrow who may run it.
describe("public actions", () => {
  it("add and remove do not claim that only admins may run a public action", async () => {
    const p = await populated();
    const runs = [
      await p.run("permission", "add", "start", "--role", "ops"),
      await p.run("permission", "remove", "start", "--role", "ops"),
      await p.run("permission", "remove", "start"),
    ];
    for (const run of runs) {
      assertOk(run);
      assert.doesNotMatch(run.stdout, /admins only|Only admins|run by admins and/, run.stdout);
      assert.match(run.stdout, /everyone|public/, run.stdout);
    }
  });
});
