import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InvalidArgumentError } from "commander";
import { printable, table, telegramId } from "../src/index.js";
import { assertOk, project, richSchema } from "./helpers/project.js";

// Characters a terminal acts on instead of printing: the C0 controls (ESC starts CSI and OSC
// sequences, BEL, backspace, CR…), DEL, and the C1 controls (U+009B is a one-character CSI).
const isC0 = (code: number) => code < 0x20 && code !== 0x0a;
const isDelOrC1 = (code: number) => code >= 0x7f && code <= 0x9f;
const isControl = (code: number) => isC0(code) || isDelOrC1(code);

/** The characters of `text` that `test` picks, as U+XXXX (newlines are never picked). */
function find(text: string, test: (code: number) => boolean): string[] {
  return [...text]
    .map((char) => char.codePointAt(0) ?? 0)
    .filter(test)
    .map((code) => `U+${code.toString(16).toUpperCase().padStart(4, "0")}`);
}

/** Asserts that `text` has no control character but the newlines between lines. */
function assertClean(text: string): void {
  assert.deepEqual(find(text, isControl), [], JSON.stringify(text));
}

describe("table", () => {
  it("aligns columns two spaces apart, the last one unpadded", () => {
    assert.equal(
      table(
        ["ID", "NAME", "NOTE"],
        [
          ["1", "Ada", "x"],
          ["1234", "B", ""],
        ],
        "none",
      ),
      "ID    NAME  NOTE\n1     Ada   x\n1234  B\n",
    );
  });

  it("prints `empty` when there are no rows", () => {
    assert.equal(table(["ID"], [], "No users."), "No users.\n");
  });

  it("counts a code point once, and tolerates short rows", () => {
    assert.equal(table(["A", "B"], [["é😀", "x"], ["z"]], ""), "A   B\né😀  x\nz\n");
  });
});

describe("printable", () => {
  it("replaces C0 and C1 control characters and DEL", () => {
    assert.equal(printable("Eve\u001b[31m"), "Eve\ufffd[31m");
    assert.equal(printable("a\u0000b\u0007c\bd\re\nf\tg\u007fh\u009bi"), "a�b�c�d�e�f�g�h�i");
  });

  it("keeps everything else", () => {
    const text = "Zoë «quoted» 日本語 👩‍💻 ~!@#$%^&*()";
    assert.equal(printable(text), text);
    assert.equal(printable(""), "");
  });
});

describe("telegramId", () => {
  it("parses a positive safe integer", () => {
    assert.equal(telegramId("42"), 42);
    assert.equal(telegramId("007"), 7);
    assert.equal(telegramId(" 5 "), 5);
    assert.equal(telegramId("9007199254740991"), Number.MAX_SAFE_INTEGER);
  });

  it("throws commander's InvalidArgumentError for anything else", () => {
    for (const bad of [
      "",
      " ",
      "abc",
      "0",
      "00",
      "-5",
      "+5",
      "1.5",
      "1e3",
      "0x10",
      "9007199254740992",
    ]) {
      assert.throws(
        () => telegramId(bad),
        (error: unknown) =>
          error instanceof InvalidArgumentError &&
          error.message === `expected a Telegram user id (a positive integer), got "${bad}".`,
        JSON.stringify(bad),
      );
    }
  });
});

describe("hostile input", () => {
  const EVE = "Eve\u001b[31m";

  async function withEve() {
    const p = project({ schema: richSchema });
    await p.users.createRole({ name: "ops", description: "Red\u001b[31m team\u0007\u009b" });
    await p.users.createUser({
      telegramId: 66,
      firstName: EVE,
      lastName: "\u009b2J",
      username: "eve\u001b]0;pwned\u0007",
      roles: ["ops"],
      data: { nickname: "\u001b[2Jboom", tags: ["\u001b[1m"] },
    });
    return p;
  }

  it("user list prints names, usernames and data without raw control bytes", async () => {
    const p = await withEve();
    const out = assertOk(await p.run("user", "list"));
    assertClean(out);
    assert.match(out, /Eve\ufffd\[31m \ufffd2J/);
    assert.match(out, /@eve\ufffd\]0;pwned\ufffd/);
    assert.match(out, /\ufffd\[2Jboom/);
    assert.equal(out.split("\n").length, 3, "one line per user: nothing breaks the table");
  });

  it("--json escapes ESC and BEL, and gives the stored value back", async () => {
    const p = await withEve();
    const out = assertOk(await p.run("user", "list", "--json"));
    assert.deepEqual(find(out, isC0), []);
    assert.ok(out.includes(String.raw`"Eve\u001b[31m"`));
    const [eve] = JSON.parse(out);
    assert.equal(eve.firstName, EVE);
    assert.equal(eve.lastName, "\u009b2J");
    assert.equal(eve.username, "eve\u001b]0;pwned\u0007");
    assert.equal(eve.data.nickname, "\u001b[2Jboom");
  });

  // Bug: JSON.stringify escapes U+0000-U+001F only; DEL and the C1 controls (U+009B is a
  // one-character CSI), which printable() replaces in tables, reach the terminal raw.
  it("--json escapes DEL and the C1 controls too", async () => {
    const p = await withEve();
    for (const argv of [
      ["user", "list", "--json"],
      ["role", "list", "--json"],
    ]) {
      const out = assertOk(await p.run(...argv));
      assert.deepEqual(find(out, isDelOrC1), [], argv.join(" "));
      JSON.parse(out);
    }
  });

  it("the messages naming a user print their name safely", async () => {
    const p = await withEve();
    for (const argv of [
      ["user", "set-admin", "66", "true"],
      ["user", "block", "66"],
      ["user", "unblock", "66"],
      ["role", "unassign", "ops", "66"],
    ]) {
      const out = assertOk(await p.run(...argv));
      assertClean(out);
      assert.ok(out.startsWith("Eve\ufffd[31m \ufffd2J (66) "), out);
    }
    const added = assertOk(await p.run("user", "add", "67", "--name", "Mal\u001b[2J\r"));
    assertClean(added);
    assert.equal(added, "Added Mal\ufffd[2J (67).\n", "trimmed, then made printable");
  });

  it("role list prints descriptions safely", async () => {
    const p = await withEve();
    const out = assertOk(await p.run("role", "list"));
    assertClean(out);
    assert.match(out, /Red\ufffd\[31m team\ufffd/);
  });

  it("search text is matched literally, never as a pattern", async () => {
    const p = await withEve();
    const out = assertOk(await p.run("user", "list", "--search", "\u001b[31"));
    assertClean(out);
    assert.match(out, /^66 /m);
    assertOk(await p.run("user", "list", "--search", "(.*)"), "No users.\n");
  });
});
