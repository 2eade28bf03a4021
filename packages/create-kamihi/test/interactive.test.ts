import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { parse } from "yaml";
import { scaffold } from "../src/index.js";
import { listFiles, read, TOKEN, tempDir } from "./helpers.js";
import { hasScript, keys, Terminal } from "./terminal.js";

const terminals: Terminal[] = [];
after(() => {
  for (const terminal of terminals) terminal.kill();
});

function open(args: string[], cwd: string, userAgent = "pnpm/10.0.0 npm/? node/v24.22.3") {
  const terminal = new Terminal(args, { cwd, env: { npm_config_user_agent: userAgent } });
  terminals.push(terminal);
  return terminal;
}

describe("create-kamihi on a terminal", {
  skip: !hasScript() && "needs util-linux `script` for a pseudo-terminal",
  timeout: 60_000,
}, () => {
  it("asks for everything the flags left out, checking answers as they are typed", async () => {
    const cwd = await tempDir();
    const term = open(["--no-install", "--no-git"], cwd);
    await term.answer("Project name", `pty-bot${keys.enter}`);
    await term.answer("Bot token from @BotFather", `${TOKEN}${keys.enter}`);
    await term.answer("Where should the bot keep its data?", `${keys.down}${keys.enter}`);
    await term.answer("MongoDB URL", `mongodb://localhost:27017/bots${keys.enter}`);
    await term.answer("first admin", `abc${keys.enter}`);
    // Refused as typed; erase it and give a valid id.
    await term.answer("digits only", `${keys.backspace.repeat(3)}4242${keys.enter}`);
    // The detected package manager (pnpm) comes first; one down is npm.
    await term.answer("Package manager", `${keys.down}${keys.enter}`);
    assert.equal(await term.exited, 0, term.screen);

    assert.ok(!term.screen.includes(TOKEN.split(":")[1] ?? ""), "the token is masked");
    assert.match(term.screen, /Next steps/);
    assert.match(term.screen, /npm run dev/);
    assert.doesNotMatch(term.screen, /Install dependencies\?/, "--no-install answered it");
    const project = join(cwd, "pty-bot");
    const env = await read(project, ".env");
    assert.match(
      env,
      new RegExp(`^KAMIHI_TOKEN=${TOKEN.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`, "m"),
    );
    assert.match(env, /^KAMIHI_DB__URL=mongodb:\/\/localhost:27017\/bots$/m);
    const settings = parse(await read(project, "kamihi.yaml"));
    assert.deepEqual(settings.users.admins, [4242]);
    assert.equal(settings.db, undefined);
    assert.equal(JSON.parse(await read(project, "package.json")).name, "pty-bot");
    assert.match(await read(project, "README.md"), /^ {3}npm run dev/m);

    // The same answers given as options make the same project, file for file.
    const twin = await scaffold({
      name: "pty-bot",
      directory: await tempDir(),
      token: TOKEN,
      storage: { mongodbUrl: "mongodb://localhost:27017/bots" },
      adminId: 4242,
      packageManager: "npm",
      install: false,
      git: false,
    });
    assert.deepEqual(await listFiles(project), twin.files);
    for (const file of twin.files) {
      assert.equal(await read(project, file), await read(twin.directory, file), file);
    }
  });

  it("refuses a taken folder at once, and takes the defaults on Enter", async () => {
    const cwd = await tempDir();
    await mkdir(join(cwd, "taken"));
    await writeFile(join(cwd, "taken", "notes.txt"), "mine");
    const term = open(["--no-git"], cwd, "yarn/1.22.22 npm/? node/v24.22.3");
    await term.answer("Project name", `taken${keys.enter}`);
    await term.answer(
      "already exists and is not empty",
      `${keys.backspace.repeat(5)}${keys.enter}`,
    );
    await term.answer("Bot token", keys.enter);
    await term.answer("Where should the bot keep its data?", keys.enter);
    await term.answer("first admin", keys.enter);
    await term.answer("Package manager", keys.enter);
    // Declining the install keeps the test off the registry.
    await term.answer("Install dependencies?", `n${keys.enter}`);
    assert.equal(await term.exited, 0, term.screen);

    const project = join(cwd, "my-kamihi-bot");
    assert.ok(!existsSync(join(project, ".env")), "no secret was given");
    assert.equal(
      parse(await read(project, "kamihi.yaml")).db.url,
      "memory://?file=.kamihi/data.json",
    );
    assert.match(await read(project, "README.md"), /^ {3}yarn run dev/m, "detected yarn");
    assert.match(term.screen, /yarn kamihi user add <your Telegram id> --admin/);
    assert.deepEqual(await readdir(join(cwd, "taken")), ["notes.txt"]);
  });

  it("exits 1 with Cancelled. on Ctrl-C, creating nothing", async () => {
    const cwd = await tempDir();
    const term = open([], cwd);
    await term.answer("Project name", `half${keys.ctrlC}`);
    assert.equal(await term.exited, 1, term.screen);
    assert.match(term.screen, /Cancelled\./);
    assert.deepEqual(await readdir(cwd), []);
  });
});
