import assert from "node:assert/strict";
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { createKamihiVersion, runCreate, scaffold } from "../src/index.js";
import { captureIO, listFiles, read, TOKEN, tempDir, withEnv } from "./helpers.js";

const quiet = ["--no-install", "--no-git"];

describe("create-kamihi without prompts", () => {
  it("creates from flags the same project the library creates from options", async () => {
    const cwd = await tempDir();
    const { io, stdout, stderr } = captureIO(cwd);
    const code = await runCreate(
      ["flag-bot", ...quiet, "--pm", "yarn", "--token", TOKEN, "--admin", "4242"],
      io,
    );
    assert.equal(code, 0, stderr());
    assert.equal(stderr(), "");
    const fromFlags = join(cwd, "flag-bot");

    const library = await scaffold({
      name: "flag-bot",
      directory: await tempDir(),
      token: TOKEN,
      storage: "embedded",
      adminId: 4242,
      packageManager: "yarn",
      install: false,
      git: false,
    });
    const files = await listFiles(fromFlags);
    assert.deepEqual(files, library.files);
    for (const file of files) {
      assert.equal(await read(fromFlags, file), await read(library.directory, file), file);
    }
    assert.match(stdout(), /^Created flag-bot in /m);
    assert.match(stdout(), /Next steps:\n {2}cd flag-bot\n {2}yarn install\n {2}yarn run dev/);
    assert.doesNotMatch(stdout(), /kamihi user add/, "an admin was given");
    assert.ok(!stdout().includes(TOKEN), "the token is never printed");
  });

  it("takes the defaults without a terminal: my-kamihi-bot, embedded storage", async () => {
    const cwd = await tempDir();
    const { io, stdout } = captureIO(cwd);
    const code = await withEnv({ npm_config_user_agent: "pnpm/10.0.0 npm/? node/v24.22.3" }, () =>
      runCreate(quiet, io),
    );
    assert.equal(code, 0);
    assert.deepEqual(await readdir(cwd), ["my-kamihi-bot"]);
    const project = join(cwd, "my-kamihi-bot");
    assert.equal(
      parse(await read(project, "kamihi.yaml")).db.url,
      "memory://?file=.kamihi/data.json",
    );
    assert.match(
      await read(project, "README.md"),
      /^ {3}pnpm run dev/m,
      "the detected package manager",
    );
    assert.match(stdout(), /pnpm exec kamihi user add <your Telegram id> --admin/);
    assert.match(stdout(), /cp \.env\.example \.env/, "no token was given");
    assert.match(stdout(), /pnpm test/);
  });

  it("asks nothing with --yes, even on a terminal", { timeout: 10_000 }, async () => {
    const cwd = await tempDir();
    // stdin never ends: a prompt would wait forever and the test would time out.
    const { io, stdout } = captureIO(cwd, true);
    const code = await runCreate(["yes-bot", "--yes", ...quiet, "--pm", "npm"], io);
    assert.equal(code, 0);
    assert.deepEqual(await readdir(cwd), ["yes-bot"]);
    assert.doesNotMatch(stdout(), /Project name/);
  });

  it("creates the project under --dir", async () => {
    const cwd = await tempDir();
    const { io, stdout } = captureIO(cwd);
    assert.equal(await runCreate(["dir-bot", "--dir", "bots", ...quiet], io), 0);
    assert.ok((await listFiles(join(cwd, "bots", "dir-bot"))).includes("kamihi.yaml"));
    assert.match(stdout(), /cd bots[\\/]dir-bot/);
  });

  it("keeps a MongoDB URL from --storage in .env", async () => {
    const cwd = await tempDir();
    const { io } = captureIO(cwd);
    const code = await runCreate(
      ["mongo-bot", "--storage", "mongodb://localhost:27017", ...quiet],
      io,
    );
    assert.equal(code, 0);
    const project = join(cwd, "mongo-bot");
    assert.match(await read(project, ".env"), /^KAMIHI_DB__URL=mongodb:\/\/localhost:27017$/m);
    assert.equal(parse(await read(project, "kamihi.yaml")).db, undefined);
  });

  for (const [args, flag, expected] of [
    [["--admin", "abc"], "--admin", /digits only, such as 123456789, got "abc"/],
    [["--admin", "0"], "--admin", /positive whole number/],
    [["--token", "nope"], "--token", /@BotFather/],
    [["--storage", "postgres://localhost"], "--storage", /expected "embedded" or a MongoDB URL/],
    [["--storage", "mongodb://"], "--storage", /has no host/],
    [["--pm", "pip"], "--pm", /Allowed choices are pnpm, npm, yarn, bun/],
  ] as const) {
    it(`exits 2 for ${args.join(" ")}, naming ${flag} and creating nothing`, async () => {
      const cwd = await tempDir();
      const { io, stderr } = captureIO(cwd);
      assert.equal(await runCreate(["bad-bot", ...args, ...quiet], io), 2);
      assert.match(stderr(), /^error: /);
      assert.ok(stderr().includes(flag), stderr());
      assert.match(stderr(), expected);
      assert.deepEqual(await readdir(cwd), []);
    });
  }

  it("exits 2 for an invalid name, saying what a valid one looks like", async () => {
    const cwd = await tempDir();
    const { io, stderr } = captureIO(cwd);
    assert.equal(await runCreate(["My Bot", ...quiet], io), 2);
    assert.match(stderr(), /^error: "My Bot" is not a valid project name .*"my-bot"/);
    assert.deepEqual(await readdir(cwd), []);
  });

  it("exits 2 for an unknown flag or a second name", async () => {
    const cwd = await tempDir();
    const unknown = captureIO(cwd);
    assert.equal(await runCreate(["bot", "--frobnicate"], unknown.io), 2);
    assert.match(unknown.stderr(), /unknown option '--frobnicate'/);
    const extra = captureIO(cwd);
    assert.equal(await runCreate(["one", "two", ...quiet], extra.io), 2);
    assert.match(extra.stderr(), /too many arguments/);
    assert.deepEqual(await readdir(cwd), []);
  });

  it("exits 1 when the folder is taken, naming it", async () => {
    const cwd = await tempDir();
    await mkdir(join(cwd, "taken"));
    await writeFile(join(cwd, "taken", "notes.txt"), "mine");
    const { io, stderr } = captureIO(cwd);
    assert.equal(await runCreate(["taken", ...quiet], io), 1);
    assert.match(stderr(), /^error: The folder .*taken already exists and is not empty/);
    assert.deepEqual(await readdir(join(cwd, "taken")), ["notes.txt"]);
  });

  it("lists every flag with --help and exits 0", async () => {
    const cwd = await tempDir();
    const { io, stdout } = captureIO(cwd);
    assert.equal(await runCreate(["--help"], io), 0);
    for (const flag of [
      "[name]",
      "--token <token>",
      "--storage <storage>",
      "--admin <telegramId>",
      "--pm <packageManager>",
      "--install",
      "--no-install",
      "--git",
      "--no-git",
      "--yes",
      "--dir <parent>",
      "--help",
      "--version",
    ]) {
      assert.ok(stdout().includes(flag), `--help lacks ${flag}`);
    }
    assert.deepEqual(await readdir(cwd), []);
  });

  it("prints its version with --version", async () => {
    const { io, stdout } = captureIO(await tempDir());
    assert.equal(await runCreate(["--version"], io), 0);
    assert.equal(stdout(), `${createKamihiVersion}\n`);
  });
});
