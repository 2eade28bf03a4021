import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createEmulator, type Emulator, freePort } from "@kamihi/testing";
import { Running, runKamihi, TMP } from "./cli-process.js";

// Start-up costs only what the configuration uses: each test looks at the modules a real
// `kamihi` process loaded (recorded by a preloaded hook), not at how long it took.

const RECORDER = new URL("./record-modules.ts", import.meta.url).href;

function project(): string {
  mkdirSync(TMP, { recursive: true });
  const root = mkdtempSync(join(TMP, "modules-"));
  const files: Record<string, string> = {
    "kamihi.yaml": "db:\n  url: memory://\nlog:\n  level: warn\n",
    // TypeScript Node runs by itself: types to strip, a helper imported the NodeNext way.
    "lib/greeting.ts": `export const greeting = (name: string): string => \`Hi \${name}!\`;\n`,
    "actions/start/start.ts": `import { bot } from "kamihi";
import { greeting } from "../../lib/greeting.js";

export default bot.action(async function start({ user }): Promise<string> {
  return greeting(user.firstName);
}, { description: "Say hi", public: true });
`,
  };
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, ".."), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}
after(() => rmSync(TMP, { recursive: true, force: true }));

/** Environment that makes a `kamihi` process write the modules it loaded to `file`. */
function recording(root: string): { env: Record<string, string>; packages: () => Set<string> } {
  const file = join(root, ".modules.txt");
  return {
    env: {
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --import=${RECORDER}`.trim(),
      KAMIHI_TEST_MODULES: file,
    },
    packages: () => packagesOf(readFileSync(file, "utf8").split("\n")),
  };
}

/**
 * The packages the URLs belong to: `@kamihi/admin` for this repository's packages/admin (or
 * an installed node_modules/@kamihi/admin), `pino-pretty` for …/node_modules/pino-pretty/….
 */
function packagesOf(urls: readonly string[]): Set<string> {
  const names = new Set<string>();
  for (const url of urls) {
    const installed = /.*\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1];
    const workspace = /\/packages\/([^/]+)\/(?:dist|src)\//.exec(url)?.[1];
    if (installed !== undefined) names.add(installed);
    else if (workspace !== undefined)
      names.add(
        ["kamihi", "create-kamihi"].includes(workspace) ? workspace : `@kamihi/${workspace}`,
      );
  }
  return names;
}

function assertLoaded(loaded: Set<string>, expected: readonly string[]) {
  for (const name of expected) assert.ok(loaded.has(name), `${name} was not loaded`);
}

function assertNotLoaded(loaded: Set<string>, unexpected: readonly string[]) {
  const found = unexpected.filter((name) => loaded.has(name));
  assert.deepEqual(found, [], `loaded although unused: ${found.join(", ")}`);
}

/** What only some commands or settings use. */
const OPTIONAL = [
  "@kamihi/admin",
  "@fastify/static",
  "@fastify/view",
  "@kamihi/testing",
  "pino-pretty",
  "tsx",
  "esbuild",
  "chokidar",
  "@clack/prompts",
  "create-kamihi",
];

describe("what a kamihi process loads", () => {
  let emu: Emulator;
  let telegram: Record<string, string>;
  before(async () => {
    emu = await createEmulator();
    telegram = { KAMIHI_TOKEN: emu.token, KAMIHI_TG__API_ROOT: emu.apiRoot };
  });
  after(() => emu.stop());

  it("run with the web admin off: neither the admin, the playground, tsx nor pretty logs", async (t) => {
    const root = project();
    const { env, packages } = recording(root);
    const run = new Running(root, ["run"], { ...telegram, ...env, KAMIHI_WEB__ENABLED: "false" });
    t.after(() => run.stop());
    await run.until(/is running/);
    const chat = emu.chat({ firstName: "Ada" });
    await chat.command("start");
    await chat.expectReply("Hi Ada!");
    assert.equal(await run.stop(), 0, run.out);
    const loaded = packages();
    assertLoaded(loaded, ["kamihi", "@kamihi/cli", "@kamihi/db", "telegraf", "pino"]);
    assertNotLoaded(loaded, OPTIONAL);
  });

  it("run with the web admin on loads it, and it answers", async (t) => {
    const root = project();
    const { env, packages } = recording(root);
    const port = await freePort();
    const run = new Running(root, ["run"], {
      ...telegram,
      ...env,
      KAMIHI_WEB__ENABLED: "true",
      KAMIHI_WEB__PORT: String(port),
    });
    t.after(() => run.stop());
    await run.until(/is running/);
    const login = await fetch(`http://127.0.0.1:${port}/`, { redirect: "manual" });
    assert.equal(login.status, 303, "the admin answers, behind its login");
    assert.equal(await run.stop(), 0, run.out);
    const loaded = packages();
    assertLoaded(loaded, ["@kamihi/admin", "fastify"]);
    assertNotLoaded(loaded, [
      "@kamihi/testing",
      "pino-pretty",
      "tsx",
      "chokidar",
      "@clack/prompts",
    ]);
  });

  it("dev with readable logs loads the watcher and pino-pretty, still no admin", async (t) => {
    const root = project();
    const { env, packages } = recording(root);
    const dev = new Running(root, ["dev"], {
      ...telegram,
      ...env,
      KAMIHI_WEB__ENABLED: "false",
      KAMIHI_LOG__FORMAT: "pretty",
    });
    t.after(() => dev.stop());
    await dev.until(/Watching for changes/);
    assert.equal(await dev.stop(), 0, dev.out);
    const loaded = packages();
    assertLoaded(loaded, ["chokidar", "pino-pretty"]);
    assertNotLoaded(loaded, ["@kamihi/admin", "@kamihi/testing", "tsx", "@clack/prompts"]);
  });

  it("commands that do not run the bot load neither its runtime nor Telegram's client", async () => {
    const root = project();
    const { env, packages } = recording(root);
    const version = await runKamihi(root, ["version"], env);
    assert.equal(version.code, 0, version.stderr);
    assertNotLoaded(packages(), [...OPTIONAL, "@kamihi/config", "@kamihi/db", "telegraf"]);

    const config = await runKamihi(root, ["config"], env);
    assert.equal(config.code, 0, config.stderr);
    assert.match(config.stdout, /db\.url/);
    const loaded = packages();
    assertLoaded(loaded, ["@kamihi/config"]);
    assertNotLoaded(loaded, [...OPTIONAL, "@kamihi/db", "telegraf"]);
  });
});
