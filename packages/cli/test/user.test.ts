import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  assertFailed,
  assertOk,
  assertUsage,
  project,
  richSchema,
  type TestProject,
} from "./helpers/project.js";

/** Ada (admin, staff, pro), Bob (ops, blocked) and Cy (pending, no roles). */
async function populated(): Promise<TestProject> {
  const p = project();
  await p.users.createRole({ name: "staff", description: "The team" });
  await p.users.createRole({ name: "ops" });
  await p.users.createUser({
    telegramId: 42,
    firstName: "Ada",
    lastName: "Lovelace",
    username: "ada",
    isAdmin: true,
    roles: ["staff", "ops"],
    data: { plan: "pro", credits: 12 },
  });
  await p.users.createUser({
    telegramId: 7,
    firstName: "Bob",
    username: "bobby",
    roles: ["ops"],
    status: "blocked",
  });
  await p.users.createUser({ telegramId: 1001, firstName: "Cy", status: "pending" });
  return p;
}

describe("user add", () => {
  it("adds a user with defaults and says so", async () => {
    const p = project();
    assertOk(await p.run("user", "add", "42"), "Added User 42 (42).\n");
    const user = await p.user(42);
    assert.equal(user.firstName, "User 42");
    assert.equal(user.isAdmin, false);
    assert.deepEqual(user.roles, []);
    assert.equal(user.status, "active");
    assert.equal(user.username, undefined);
    assert.deepEqual(user.data, { plan: "free", credits: 0 }, "the schema's defaults");
  });

  it("takes --admin, --role (repeatable), --name, --username and --data", async () => {
    const p = project();
    await p.users.createRole({ name: "staff" });
    await p.users.createRole({ name: "ops" });
    const run = await p.run(
      "user",
      "add",
      "42",
      "--admin",
      "--role",
      "staff",
      "--role",
      "ops",
      "--name",
      "Ada",
      "--username",
      "@ada",
      "--data",
      "credits=5",
      "--data",
      "plan=pro",
    );
    assertOk(run, "Added Ada (42) as an admin with roles staff, ops.\n");
    const user = await p.user(42);
    assert.equal(user.firstName, "Ada");
    assert.equal(user.username, "ada", "the @ is dropped");
    assert.equal(user.isAdmin, true);
    assert.deepEqual(user.roles, ["staff", "ops"]);
    assert.deepEqual(user.data, { plan: "pro", credits: 5 });
    assert.equal(typeof user.data.credits, "number", "credits=5 is stored as the number 5");
  });

  it("mentions roles without --admin", async () => {
    const p = project();
    await p.users.createRole({ name: "staff" });
    assertOk(
      await p.run("user", "add", "8", "--role", "staff", "--name", "Bo"),
      "Added Bo (8) with roles staff.\n",
    );
  });

  it("converts --data by the type of each field", async () => {
    const p = project({ schema: richSchema });
    const run = await p.run(
      "user",
      "add",
      "42",
      "--data",
      "nickname=Ace=1",
      "--data",
      "vip=true",
      "--data",
      "since=2024-05-01T00:00:00.000Z",
      "--data",
      "tags=red, green,blue",
      "--data",
      " score =2.5",
    );
    assertOk(run, "Added User 42 (42).\n");
    const { data } = await p.user(42);
    assert.equal(data.nickname, "Ace=1", "only the first = splits");
    assert.equal(data.vip, true);
    assert.ok(data.since instanceof Date);
    assert.equal(data.since.toISOString(), "2024-05-01T00:00:00.000Z");
    assert.deepEqual(data.tags, ["red", "green", "blue"]);
    assert.equal(data.score, 2.5);

    assertOk(await p.run("user", "add", "43", "--data", "tags=", "--data", "vip=false"));
    assert.deepEqual((await p.user(43)).data.tags, []);
    assert.equal((await p.user(43)).data.vip, false);
  });

  it("leaves values it cannot convert for the schema to reject", async () => {
    const p = project({ schema: richSchema });
    assertFailed(
      await p.run("user", "add", "42", "--data", "vip=maybe", "--data", "score=lots"),
      /^error: The user 42 was not saved; fix these fields:\n {2}- data\.vip: .*\n {2}- data\.score: .*\n$/,
    );
    assert.equal(await p.users.getUser(42), null);
  });

  it("a later --data of the same field wins", async () => {
    const p = project();
    assertOk(await p.run("user", "add", "42", "--data", "plan=pro", "--data", "plan=free"));
    assert.equal((await p.user(42)).data.plan, "free");
  });

  it("refuses a field the user model does not have, listing the fields (exit 2)", async () => {
    const p = project();
    const run = await p.run("user", "add", "43", "--data", "colour=red");
    assert.equal(run.code, 2);
    assert.equal(run.stdout, "");
    assert.equal(
      run.stderr,
      'error: --data: the user model has no field "colour". Fields: plan, credits.\n',
    );
    assert.equal(await p.users.getUser(43), null, "nothing was added");
  });

  it("refuses --data without key=value (exit 2)", async () => {
    const p = project();
    for (const pair of ["credits", "=5", ""]) {
      const run = await p.run("user", "add", "43", "--data", pair);
      assert.equal(run.code, 2, pair);
      assert.equal(run.stderr, `error: --data expects key=value, got "${pair}".\n`);
    }
    assert.equal(await p.users.getUser(43), null);
  });

  it("an invalid value fails (exit 1) naming the field", async () => {
    const p = project();
    const run = await p.run("user", "add", "44", "--data", "plan=gold");
    assertFailed(run, /^error: The user 44 was not saved; fix these fields:\n {2}- data\.plan: /);
    assert.match(run.stderr, /"gold"/);
    assertFailed(await p.run("user", "add", "44", "--data", "credits=1.5"), /data\.credits/);
    assertFailed(await p.run("user", "add", "44", "--data", "credits=abc"), /data\.credits/);
    assertFailed(await p.run("user", "add", "44", "--data", "credits="), /data\.credits/);
    assert.equal(await p.users.getUser(44), null);
  });

  it("without a user model, --data is kept as text under any key", async () => {
    const p = project({ schema: null });
    assertOk(await p.run("user", "add", "42", "--data", "colour=red", "--data", "n=5"));
    assert.deepEqual((await p.user(42)).data, { colour: "red", n: "5" });
  });

  for (const bad of ["abc", "0", "-5", "1.5", "1e3", "", "12345678901234567", "9007199254740993"]) {
    it(`refuses the Telegram id ${JSON.stringify(bad)} (exit 2)`, async () => {
      const p = project();
      const run = await p.run("user", "add", bad);
      assertUsage(run, /error: .*'telegramId'/);
      assert.ok(
        run.stderr.includes(`expected a Telegram user id (a positive integer), got "${bad}".`),
        run.stderr,
      );
      assert.deepEqual(p.roots, [], "the project is not opened");
      assert.equal((await p.users.listUsers()).total, 0);
    });
  }

  it("accepts the largest safe id and ids with leading zeros", async () => {
    const p = project();
    assertOk(await p.run("user", "add", "9007199254740991"));
    assertOk(await p.run("user", "add", "007"), "Added User 7 (7).\n");
    assert.ok(await p.users.getUser(Number.MAX_SAFE_INTEGER));
  });

  it("a user who exists already is a failure (KAMIHI_USER_EXISTS), and is left as is", async () => {
    const p = project();
    assertOk(await p.run("user", "add", "42", "--name", "Ada"));
    assertFailed(
      await p.run("user", "add", "42", "--admin", "--name", "Eve"),
      "The user 42 already exists; change them instead of adding them again.",
    );
    const user = await p.user(42);
    assert.equal(user.firstName, "Ada");
    assert.equal(user.isAdmin, false);
  });

  it("an unknown role is a failure listing the roles", async () => {
    const p = project();
    assertFailed(
      await p.run("user", "add", "45", "--role", "nope"),
      'No role named "nope". Roles: (none yet; add one with `kamihi role add <name>`).',
    );
    await p.users.createRole({ name: "staff" });
    await p.users.createRole({ name: "ops" });
    assertFailed(
      await p.run("user", "add", "45", "--role", "staff", "--role", "nope"),
      'No role named "nope". Roles: ops, staff.',
    );
    assert.equal(await p.users.getUser(45), null);
  });

  it("an empty --name is a failure", async () => {
    const p = project();
    assertFailed(await p.run("user", "add", "45", "--name", "  "), /firstName/);
  });
});

describe("user list", () => {
  const HEADER = "ID    NAME          USERNAME  STATUS   ADMIN  ROLES       PLAN  CREDITS";

  it("prints a table with the custom fields as columns, by Telegram id", async () => {
    const p = await populated();
    assertOk(
      await p.run("user", "list"),
      [
        HEADER,
        "7     Bob           @bobby    blocked         ops         free  0",
        "42    Ada Lovelace  @ada      active   yes    staff, ops  pro   12",
        "1001  Cy                      pending                     free  0",
        "",
      ].join("\n"),
    );
  });

  it("says so when there are no users", async () => {
    assertOk(await project().run("user", "list"), "No users.\n");
  });

  it("without custom fields has the six standard columns", async () => {
    const p = project({ schema: null });
    await p.users.createUser({ telegramId: 5, firstName: "Al" });
    assertOk(
      await p.run("user", "list"),
      "ID  NAME  USERNAME  STATUS  ADMIN  ROLES\n5   Al              active\n",
    );
  });

  it("shows every kind of field value", async () => {
    const p = project({ schema: richSchema });
    await p.users.createUser({
      telegramId: 5,
      firstName: "Al",
      data: { nickname: "Ace", vip: true, since: new Date("2024-05-01T00:00:00Z"), tags: ["a"] },
    });
    const out = assertOk(await p.run("user", "list"));
    const [header, row] = out.split("\n");
    assert.match(header ?? "", /ROLES {2}NICKNAME {2}VIP +SINCE +TAGS +SCORE$/);
    assert.match(row ?? "", /Ace +true +2024-05-01T00:00:00\.000Z +\["a"\]$/);
  });

  it("--role lists the role's members", async () => {
    const p = await populated();
    const out = assertOk(await p.run("user", "list", "--role", "staff"));
    assert.deepEqual(ids(out), [42]);
    assert.deepEqual(ids(assertOk(await p.run("user", "list", "--role", "ops"))), [7, 42]);
  });

  it("--role of an unknown role fails listing the roles", async () => {
    const p = await populated();
    assertFailed(
      await p.run("user", "list", "--role", "nope"),
      'No role named "nope". Roles: ops, staff.',
    );
    assertFailed(
      await project().run("user", "list", "--role", "nope"),
      'No role named "nope". Roles: (none).',
    );
  });

  it("--status, --admin and --search filter, and combine", async () => {
    const p = await populated();
    const list = async (...args: string[]) => ids(assertOk(await p.run("user", "list", ...args)));
    assert.deepEqual(await list("--status", "active"), [42]);
    assert.deepEqual(await list("--status", "blocked"), [7]);
    assert.deepEqual(await list("--status", "pending"), [1001]);
    assert.deepEqual(await list("--admin"), [42]);
    assert.deepEqual(await list("--search", "LOVE"), [42], "last name, any case");
    assert.deepEqual(await list("--search", "bob"), [7]);
    assert.deepEqual(await list("--search", "@bobby"), [7], "username with its @");
    assert.deepEqual(await list("--search", "1001"), [1001], "a Telegram id");
    assert.deepEqual(await list("--search", ".*"), [], "matched literally");
    assert.deepEqual(await list("--role", "ops", "--status", "blocked"), [7]);
    assert.deepEqual(await list("--role", "ops", "--admin"), [42]);
    assertOk(await p.run("user", "list", "--search", "zed"), "No users.\n");
  });

  it("refuses an unknown --status (exit 2) listing the choices", async () => {
    const p = await populated();
    assertUsage(
      await p.run("user", "list", "--status", "gone"),
      "error: option '--status <status>' argument 'gone' is invalid. Allowed choices are active, blocked, pending.",
    );
  });

  it("--json prints one parseable array of the users", async () => {
    const p = await populated();
    const run = await p.run("user", "list", "--json");
    const users = JSON.parse(assertOk(run)) as Record<string, unknown>[];
    assert.deepEqual(
      users.map(({ createdAt, ...rest }) => {
        assert.equal(typeof createdAt, "string");
        assert.ok(!Number.isNaN(Date.parse(String(createdAt))));
        return rest;
      }),
      [
        {
          telegramId: 7,
          firstName: "Bob",
          username: "bobby",
          isAdmin: false,
          roles: ["ops"],
          status: "blocked",
          data: { plan: "free", credits: 0 },
        },
        {
          telegramId: 42,
          firstName: "Ada",
          lastName: "Lovelace",
          username: "ada",
          isAdmin: true,
          roles: ["staff", "ops"],
          status: "active",
          data: { plan: "pro", credits: 12 },
        },
        {
          telegramId: 1001,
          firstName: "Cy",
          isAdmin: false,
          roles: [],
          status: "pending",
          data: { plan: "free", credits: 0 },
        },
      ],
    );
    assertOk(await project().run("user", "list", "--json"), "[]\n");
    const filtered = JSON.parse(assertOk(await p.run("user", "list", "--json", "--admin")));
    assert.deepEqual(
      filtered.map((u: { telegramId: number }) => u.telegramId),
      [42],
    );
  });

  it("lists every user across pages (more than 500)", async () => {
    const p = project({ schema: null });
    await p.users.createRole({ name: "crowd" });
    const count = 511;
    await Promise.all(
      Array.from({ length: count }, (_, i) =>
        p.users.createUser({
          telegramId: 10_000 + i,
          firstName: `User ${i}`,
          roles: i % 2 === 0 ? ["crowd"] : [],
        }),
      ),
    );
    const all = JSON.parse(assertOk(await p.run("user", "list", "--json"))) as {
      telegramId: number;
    }[];
    assert.equal(all.length, count);
    assert.deepEqual(
      all.map((u) => u.telegramId),
      Array.from({ length: count }, (_, i) => 10_000 + i),
    );
    const table = assertOk(await p.run("user", "list"));
    assert.equal(table.split("\n").length, count + 2, "header, one line per user, final newline");
    const crowd = JSON.parse(assertOk(await p.run("user", "list", "--json", "--role", "crowd")));
    assert.equal(crowd.length, Math.ceil(count / 2));
  });
});

describe("user fields", () => {
  it("lists the custom fields of the user model", async () => {
    assertOk(
      await project().run("user", "fields"),
      [
        "FIELD    TYPE     REQUIRED  OPTIONS",
        "plan     choice   no        free, pro",
        "credits  integer  no",
        "",
      ].join("\n"),
    );
  });

  it("names every type", async () => {
    const out = assertOk(await project({ schema: richSchema }).run("user", "fields"));
    assert.deepEqual(
      out
        .trimEnd()
        .split("\n")
        .slice(1)
        .map((line) => line.split(/\s+/).slice(0, 3)),
      [
        ["nickname", "string", "no"],
        ["vip", "boolean", "no"],
        ["since", "date", "no"],
        ["tags", "list", "no"],
        ["score", "number", "no"],
      ],
    );
  });

  it("says how to declare fields when there are none", async () => {
    assertOk(
      await project({ schema: null }).run("user", "fields"),
      "The project has no custom user fields (add models/user.ts to declare some).\n",
    );
  });
});

describe("user remove", () => {
  it("removes the user and their grants", async () => {
    const p = await populated();
    await p.users.grant("buy", { users: [42, 7] });
    assertOk(await p.run("user", "remove", "42"), "Removed user 42.\n");
    assert.equal(await p.users.getUser(42), null);
    assert.deepEqual(await p.users.listPermissions(), [{ action: "buy", users: [7], roles: [] }]);
    assert.deepEqual(ids(assertOk(await p.run("user", "list"))), [7, 1001]);
  });

  it("an unknown id is a failure", async () => {
    const p = await populated();
    assertFailed(
      await p.run("user", "remove", "43"),
      "No user with Telegram id 43; `kamihi user list` shows the users there are.",
    );
    assertUsage(await p.run("user", "remove", "x"), /got "x"/);
  });
});

describe("user set-admin", () => {
  it("makes a user an admin, or not", async () => {
    const p = await populated();
    assertOk(await p.run("user", "set-admin", "7", "true"), "Bob (7) is now an admin.\n");
    assert.equal((await p.user(7)).isAdmin, true);
    assertOk(
      await p.run("user", "set-admin", "42", "false"),
      "Ada Lovelace (42) is no longer an admin.\n",
    );
    assert.equal((await p.user(42)).isAdmin, false);
  });

  it("accepts yes/no, 1/0, on/off in any case", async () => {
    const p = await populated();
    for (const [value, expected] of [
      ["YES", true],
      ["no", false],
      ["1", true],
      ["0", false],
      ["On", true],
      ["off", false],
      [" True ", true],
    ] as const) {
      assertOk(await p.run("user", "set-admin", "1001", value));
      assert.equal((await p.user(1001)).isAdmin, expected, value);
    }
  });

  it("refuses anything else (exit 2)", async () => {
    const p = await populated();
    const run = await p.run("user", "set-admin", "42", "maybe");
    assertUsage(run, /^error: .*'admin'\. expected true or false, got "maybe"\.\n/);
    assert.equal((await p.user(42)).isAdmin, true, "unchanged");
    assertUsage(await p.run("user", "set-admin", "42"), /missing required argument 'admin'/);
  });

  it("an unknown user is a failure", async () => {
    const p = await populated();
    assertFailed(await p.run("user", "set-admin", "43", "yes"), /No user with Telegram id 43/);
  });
});

describe("user block / unblock", () => {
  it("blocks a user: they may run nothing, not even as an admin", async () => {
    const p = await populated();
    assertOk(
      await p.run("user", "block", "42"),
      "Ada Lovelace (42) is blocked: the bot ignores them.\n",
    );
    const ada = await p.user(42);
    assert.equal(ada.status, "blocked");
    assert.equal(await p.users.can(ada, "buy"), false);
  });

  it("unblocks a user, and approves a pending one", async () => {
    const p = await populated();
    assertOk(await p.run("user", "unblock", "7"), "Bob (7) is active again.\n");
    assert.equal((await p.user(7)).status, "active");
    assertOk(await p.run("user", "unblock", "1001"), "Cy (1001) is active again.\n");
    assert.equal((await p.user(1001)).status, "active");
  });

  it("an unknown user is a failure", async () => {
    const p = await populated();
    assertFailed(await p.run("user", "block", "43"), /No user with Telegram id 43/);
    assertFailed(await p.run("user", "unblock", "43"), /No user with Telegram id 43/);
    assertUsage(await p.run("user", "block", "-1"), /got "-1"/);
  });
});

/** The Telegram ids in the first column of a `user list` table. */
function ids(table: string): number[] {
  return table
    .trimEnd()
    .split("\n")
    .slice(1)
    .map((line) => Number(line.split(" ")[0]));
}
