import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { silentLogger } from "@kamihi/core";
import { createStore } from "@kamihi/db";
import { requiredMongoUrl, uniqueDbName } from "@kamihi/db/conformance";
import { createEmulator, type Emulator } from "@kamihi/testing";
import { createBot, type Kamihi } from "../src/index.js";
import { runKamihi } from "./cli-process.js";
import { fixture } from "./helpers.js";

const PUBLIC_MENU = ["avatar", "shop", "start", "whoami", "help"];

/** Runs the built `kamihi` command on the access fixture, as an operator would. */
const kamihi = (env: Record<string, string>, ...args: string[]) =>
  runKamihi(fixture("access"), args, env);

const { url, skip } = requiredMongoUrl();

describe("the kamihi command changes what a running bot allows (MongoDB)", { skip }, () => {
  const name = uniqueDbName("kamihi_cli");
  const env = { KAMIHI_DB__URL: url ?? "", KAMIHI_DB__NAME: name };
  let emu: Emulator;
  let bot: Kamihi;

  before(async () => {
    emu = await createEmulator();
    bot = createBot().configure({
      logger: silentLogger,
      settings: {
        token: emu.token,
        tg: { apiRoot: emu.apiRoot },
        db: { url: url ?? "", name },
        // Changes from other processes are picked up within this time.
        users: { cacheSeconds: 0.3 },
        limits: { perChatPerSecond: 1000, perGroupPerMinute: 1000, globalPerSecond: 1000 },
      },
    });
    await bot.start({ root: fixture("access") });
  });
  after(async () => {
    await bot.stop();
    await emu.stop();
    const store = createStore({ url: url ?? "", name, logger: silentLogger });
    await (store.raw() as { dropDatabase(): Promise<unknown> }).dropDatabase();
    await store.close();
  });

  it("adds a user, grants through a role, revokes, promotes and blocks — each seen by the bot", async () => {
    const chat = emu.chat({ firstName: "Olga" });
    const id = String(chat.user.id);
    await chat.command("secret");
    await chat.expectReply("You are not allowed to do that.");

    let run = await kamihi(env, "user", "add", id, "--data", "plan=pro");
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`^Added User ${id} \\(${id}\\)\\.`));
    assert.equal((await kamihi(env, "role", "add", "agents")).code, 0);
    assert.equal((await kamihi(env, "role", "assign", "agents", id)).code, 0);
    run = await kamihi(env, "permission", "add", "secret", "--role", "agents");
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, "secret may now be run by admins and role agents.\n");

    // The bot reads the change log every users.cacheSeconds and refreshes the user's menu.
    await chat.expectMenu(["avatar", "secret", "shop", "start", "whoami", "help"]);
    await chat.command("secret");
    await chat.expectReply("The secret is 42.");
    await chat.command("whoami");
    await chat.expectReply("known=true admin=false roles=agents plan=pro");

    assert.equal((await kamihi(env, "role", "unassign", "agents", id)).code, 0);
    await chat.expectMenu(PUBLIC_MENU);
    await chat.command("secret");
    await chat.expectReply("You are not allowed to do that.");

    assert.equal((await kamihi(env, "user", "set-admin", id, "true")).code, 0);
    await chat.expectMenu(["avatar", "buy", "order", "secret", "shop", "start", "whoami", "help"]);
    await chat.command("buy", "1");
    await chat.expectReply("Bought 1 for Olga.");

    assert.equal((await kamihi(env, "user", "block", id)).code, 0);
    await chat.expectMenu(PUBLIC_MENU);

    const list = await kamihi(env, "user", "list", "--json");
    const users = JSON.parse(list.stdout) as Array<{
      telegramId: number;
      status: string;
      firstName: string;
    }>;
    assert.deepEqual(
      users.map((u) => [u.telegramId, u.status, u.firstName]),
      [[chat.user.id, "blocked", "Olga"]],
      "the profile was refreshed from Telegram when Olga wrote",
    );
  });

  it("refuses unknown names with the valid ones, and bad arguments with a usage error", async () => {
    const unknownAction = await kamihi(env, "permission", "add", "sekret", "--role", "agents");
    assert.equal(unknownAction.code, 1);
    assert.equal(
      unknownAction.stderr.trim().split("\n").at(-1),
      'error: The bot has no action "sekret". Its actions: avatar, buy, order, secret, shop, start, whoami.',
    );
    const unknownRole = await kamihi(env, "permission", "add", "secret", "--role", "agnets");
    assert.equal(unknownRole.code, 1);
    assert.match(unknownRole.stderr, /No role named "agnets"\. Roles: agents\./);
    const badId = await kamihi(env, "user", "add", "abc");
    assert.equal(badId.code, 2);
    assert.match(badId.stderr, /expected a Telegram user id \(a positive integer\), got "abc"/);
  });
});
