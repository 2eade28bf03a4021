import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createEmulator, type Emulator } from "@kamihi/testing";
import { Running, runKamihi, TMP } from "./cli-process.js";

/** A project whose store is the embedded one, kept in `.kamihi/data.json`. */
function project(dbUrl = "memory://?file=.kamihi/data.json"): string {
  mkdirSync(TMP, { recursive: true });
  const root = mkdtempSync(join(TMP, "embedded-"));
  const files: Record<string, string> = {
    "kamihi.yaml": `db:\n  url: "${dbUrl}"\nlog:\n  level: warn\n`,
    "actions/plan/plan.ts": `import { bot } from "kamihi";

export default bot.action(async function plan({ user }) {
  return \`known=\${user.known} plan=\${String(user.data.plan)}\`;
}, { description: "Show my plan", public: true });
`,
  };
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, ".."), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}
after(() => rmSync(TMP, { recursive: true, force: true }));

const kamihi = runKamihi;

describe("the kamihi command and a running bot on one embedded store file", () => {
  let emu: Emulator;
  let env: Record<string, string>;
  before(async () => {
    emu = await createEmulator();
    env = {
      KAMIHI_TOKEN: emu.token,
      KAMIHI_TG__API_ROOT: emu.apiRoot,
      KAMIHI_WEB__ENABLED: "false",
    };
  });
  after(() => emu.stop());

  it("refuses `user add` while the bot runs, naming it, loses nothing, and adds once it stopped", async () => {
    const root = project();
    // A user added while nothing runs: the bot must keep them.
    const first = await kamihi(root, ["user", "add", "20001", "--data", "plan=free"], env);
    assert.equal(first.code, 0, first.stderr);

    let bot = new Running(root, ["run"], env);
    await bot.until(/is running/);
    assert.match(bot.out, /store: {4}embedded \(kept in \.kamihi\/data\.json\)/);
    const refused = await kamihi(root, ["user", "add", "20002", "--data", "plan=pro"], env);
    assert.equal(refused.code, 1, `exit code; stdout: ${refused.stdout}`);
    assert.doesNotMatch(refused.stdout, /Added/);
    assert.match(
      refused.stderr,
      new RegExp(
        `^error: The embedded store's file .*\\.kamihi/data\\.json is in use by kamihi -C .* run \\(pid ${bot.child.pid}\\)`,
      ),
    );
    assert.match(
      refused.stderr,
      /stop that process first, or make the change through it \(in the web admin, or with the running bot\); to share the data between several processes, use MongoDB/,
    );
    // The doctor sees the store in use by the bot, which is fine.
    const doctor = await kamihi(root, ["doctor"], env);
    assert.match(doctor.stdout, /✓ store\b.*in use by kamihi/);
    const known = emu.chat({ userId: 20001, firstName: "Ana" });
    await known.command("plan");
    await known.expectReply("known=true plan=free");
    assert.equal(await bot.stop(), 0, bot.out);

    const added = await kamihi(root, ["user", "add", "20002", "--data", "plan=pro"], env);
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stdout, /^Added /);
    assert.ok(!existsSync(join(root, ".kamihi/data.json.lock")), "the command let go of the file");

    bot = new Running(root, ["run"], env);
    await bot.until(/is running/);
    const pro = emu.chat({ userId: 20002, firstName: "Bea" });
    await pro.command("plan");
    await pro.expectReply("known=true plan=pro");
    await known.command("plan");
    await known.expectReply("known=true plan=free");
    assert.equal(await bot.stop(), 0, bot.out);
  });

  it("`kamihi dev` reopens its file on every restart, and keeps it from other commands", async () => {
    const root = project();
    const dev = new Running(root, ["dev"], env);
    try {
      await dev.until(/Watching for changes/);
      const ana = emu.chat({ userId: 20011, firstName: "Ana" });
      await ana.command("plan");
      await ana.expectReply("known=false plan=undefined");
      // A change restarts the bot in the same process: it closes the store and opens it again.
      mkdirSync(join(root, "actions/hello"));
      writeFileSync(
        join(root, "actions/hello/hello.ts"),
        'import { bot } from "kamihi";\nexport default bot.action(async function hello() { return "Hello."; }, { public: true });\n',
      );
      await dev.until(/is running/, 2);
      assert.doesNotMatch(dev.out, /error:|in use by/);
      await ana.command("hello");
      await ana.expectReply("Hello.");
      const refused = await kamihi(root, ["role", "add", "agents"], env);
      assert.equal(refused.code, 1);
      assert.match(
        refused.stderr,
        new RegExp(`in use by kamihi -C .* dev \\(pid ${dev.child.pid}\\)`),
      );
    } finally {
      assert.equal(await dev.stop(), 0, dev.out);
    }
    assert.ok(!existsSync(join(root, ".kamihi/data.json.lock")), "released on stop");
  });

  it("takes over the lock of a bot that was SIGKILLed, with a warning naming it", async () => {
    const root = project();
    const bot = new Running(root, ["run"], env);
    await bot.until(/is running/);
    const pid = bot.child.pid;
    await new Promise((resolve) => {
      bot.child.once("exit", resolve);
      bot.child.kill("SIGKILL");
    });
    assert.ok(existsSync(join(root, ".kamihi/data.json.lock")), "the killed bot left its lock");
    const added = await kamihi(root, ["user", "add", "20003"], env);
    assert.equal(added.code, 0, added.stderr);
    assert.match(
      added.stderr,
      new RegExp(
        `warning: took over the stale lock .*data\\.json\\.lock of kamihi -C .* run \\(pid ${pid}\\): its process \\(pid ${pid}\\) is no longer running`,
      ),
    );
    assert.match(added.stdout, /^Added /);
  });

  it("`kamihi run` fails at once, before Telegram, when the store's file cannot be written", async () => {
    // Counts connections: the bot must not reach for the Bot API at all.
    let connections = 0;
    const api: Server = createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => api.listen(0, "127.0.0.1", resolve));
    const { port } = api.address() as { port: number };
    try {
      const root = project("memory://?file=/proc/nope/data.json");
      const run = await kamihi(root, ["run"], {
        ...env,
        KAMIHI_TG__API_ROOT: `http://127.0.0.1:${port}`,
      });
      assert.notEqual(run.code, 0, run.stdout);
      assert.ok(run.ms < 30_000, `took ${run.ms} ms`);
      assert.match(
        run.stderr,
        /error: The embedded store cannot keep its data in \/proc\/nope\/data\.json: its folder \/proc\/nope cannot be created \(ENOENT[^)]*\)\. Choose another file in db\.url/,
      );
      assert.doesNotMatch(run.stdout, /is running/);
      assert.equal(connections, 0, "no request to the Bot API");
    } finally {
      await new Promise<void>((resolve) => api.close(() => resolve()));
    }
  });
});
