import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createEmulator, type Emulator } from "@kamihi/testing";
import { Running, runKamihi, TMP } from "./cli-process.js";

// The `kamihi` command runs a project's TypeScript without a build step: Node's own type
// stripping for what it can run, tsx for the rest (enums, parameter properties, imports of
// types without `import type`). These run the real command, as a project would.

function project(files: Record<string, string>): string {
  mkdirSync(TMP, { recursive: true });
  const root = mkdtempSync(join(TMP, "typescript-"));
  const all: Record<string, string> = {
    "kamihi.yaml": "db:\n  url: memory://\nlog:\n  level: warn\nweb:\n  enabled: false\n",
    ...files,
  };
  for (const [path, text] of Object.entries(all)) {
    mkdirSync(join(root, path, ".."), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}
after(() => rmSync(TMP, { recursive: true, force: true }));

const SHOUT = "export const shout = (text: string): string => text.toUpperCase();\n";

const ACTIONS = {
  "lib/shout.ts": SHOUT,
  "lib/types.ts": "export interface Reply {\n  text: string;\n}\n",
  // Erasable syntax only, and a helper imported as `.js` (TypeScript's NodeNext style).
  "actions/plain/plain.ts": `import { bot } from "kamihi";
import { shout } from "../../lib/shout.js";

interface Reply {
  text: string;
}

export default bot.action(async function plain(): Promise<string> {
  const reply: Reply = { text: shout("plain") };
  return reply.text;
}, { public: true });
`,
  "actions/colors/colors.ts": `import { bot } from "kamihi";
import { shout } from "../../lib/shout.js";

enum Color {
  Red = "red",
  Green = "green",
}

export default bot.action(async function color({ args }) {
  return shout(args === "green" ? Color.Green : Color.Red);
}, { public: true });
`,
  "actions/point/point.ts": `import { bot } from "kamihi";

class Point {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
  sum(): number {
    return this.x + this.y;
  }
}

export default bot.action(async function point() {
  return \`sum=\${new Point(2, 3).sum()}\`;
}, { public: true });
`,
  // A type imported without \`import type\`: only a compiler knows there is nothing to import.
  "actions/typeonly/typeonly.ts": `import { bot } from "kamihi";
import { Reply } from "../../lib/types.js";

export default bot.action(async function typeonly() {
  const reply: Reply = { text: "typed" };
  return reply.text;
}, { public: true });
`,
};

describe("TypeScript actions under `kamihi run` and `dev`", () => {
  let emu: Emulator;
  let env: Record<string, string>;
  before(async () => {
    emu = await createEmulator();
    env = { KAMIHI_TOKEN: emu.token, KAMIHI_TG__API_ROOT: emu.apiRoot };
  });
  after(() => emu.stop());

  it("runs erasable and non-erasable TypeScript alike, in the folders' order", async (t) => {
    const run = new Running(project(ACTIONS), ["run"], env);
    t.after(() => run.stop());
    await run.until(/is running/);
    assert.match(run.out, /commands: \/color \/plain \/point \/typeonly\n/);
    const chat = emu.chat();
    await chat.command("color", "green");
    await chat.expectReply("GREEN");
    await chat.command("plain");
    await chat.expectReply("PLAIN");
    await chat.command("point");
    await chat.expectReply("sum=5");
    await chat.command("typeonly");
    await chat.expectReply("typed");
    assert.equal(await run.stop(), 0, run.out);
  });

  it("dev runs the edited code of a helper the actions import, after a restart", async (t) => {
    const root = project(ACTIONS);
    const dev = new Running(root, ["dev"], env);
    t.after(() => dev.stop());
    await dev.until(/Watching for changes/);
    const chat = emu.chat();
    await chat.command("plain");
    await chat.expectReply("PLAIN");
    writeFileSync(
      join(root, "lib/shout.ts"),
      `export const shout = (text: string): string => \`\${text}!\`;\n`,
    );
    await dev.until(/shout\.ts changed: restarting/);
    await dev.until(/is running/, 2);
    await chat.command("plain");
    await chat.expectReply("plain!");
    // Every module of the new start sees the edit, whichever way it was loaded.
    await chat.command("color");
    await chat.expectReply("red!");
    assert.equal(await dev.stop(), 0, dev.out);
  });
});

describe("an action module that cannot be loaded", () => {
  const env = { KAMIHI_TOKEN: "123456:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" };

  it("is named when it imports a file that does not exist", async () => {
    const root = project({
      "lib/shout.ts": SHOUT,
      "actions/fine/fine.ts": ACTIONS["actions/plain/plain.ts"],
      "actions/broken/broken.ts": `import { bot } from "kamihi";
import { helper } from "./missing.js";

bot.action(async function broken() {
  return helper();
});
`,
    });
    const run = await runKamihi(root, ["run"], env);
    assert.equal(run.code, 1, run.stderr);
    assert.match(
      run.stderr,
      /^error: Could not load the module actions\/broken\/broken\.ts: .*missing/m,
    );
  });

  it("is named with its own error when its code throws, and is not run a second time", async () => {
    const root = project({
      "actions/throws/throws.ts": `import { bot } from "kamihi";

bot.action(async function early() {
  return "never";
});
throw new SyntaxError("settings.json is not valid JSON");
`,
    });
    const run = await runKamihi(root, ["run"], env);
    assert.equal(run.code, 1, run.stderr);
    assert.match(
      run.stderr,
      /^error: Could not load the module actions\/throws\/throws\.ts: settings\.json is not valid JSON$/m,
    );
    assert.doesNotMatch(run.stderr, /declared twice/);
  });
});
