import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { silentLogger } from "@kamihi/core";
import { createStore } from "@kamihi/db";
import { requiredMongoUrl, uniqueDbName } from "@kamihi/db/conformance";
import { type Emulator, messageText, type TestChat } from "@kamihi/testing";
import type { Kamihi } from "../src/index.js";
import { LogCapture, startBot } from "./helpers.js";

// Discovery order: actions/avatar, buy, order, secret, shop, start, whoami.
const PUBLIC_MENU = ["avatar", "shop", "start", "whoami", "help"];
const ALL_MENU = ["avatar", "buy", "order", "secret", "shop", "start", "whoami", "help"];

/** A bot on the `access` fixture with these user settings (closed registration by default). */
function accessBot(
  users: Record<string, unknown> = {},
  responses: Record<string, unknown> = {},
  log = new LogCapture(),
) {
  return startBot("access", (bot) =>
    bot.configure({
      logger: log.logger(),
      settings: {
        users: { registration: "closed", cacheSeconds: 0.2, ...users },
        responses,
      },
    }),
  );
}

/** A chat whose user the bot knows, created through the user service. */
async function knownChat(
  bot: Kamihi,
  emu: Emulator,
  fields: { isAdmin?: boolean; roles?: string[] } = {},
): Promise<TestChat> {
  const chat = emu.chat();
  await bot.users.createUser({
    telegramId: chat.user.id,
    firstName: chat.user.first_name,
    ...fields,
  });
  return chat;
}

/** Waits until `count` refusals of this user were logged: the bot has handled their updates. */
function refusals(log: LogCapture, userId: number, count: number, timeout = 5000) {
  return log.until((e) => e.fields.userId === userId && / refused$/.test(e.msg), count, timeout);
}

describe("a closed bot", async () => {
  const log = new LogCapture();
  const { bot, emu } = await accessBot({}, {}, log);

  it("refuses strangers with the message (and logs it), but runs public actions for them", async () => {
    const stranger = emu.chat({ firstName: "Eve" });
    await stranger.command("secret");
    await stranger.expectReply("You are not allowed to do that.");
    const [refusal] = await refusals(log, stranger.user.id, 1);
    assert.deepEqual(
      [refusal?.level, refusal?.msg, refusal?.fields.outcome],
      ["info", "the action secret was refused", "unknown"],
    );
    await stranger.send("hello?");
    await stranger.expectReply("You are not allowed to do that.");
    await stranger.command("start");
    await stranger.expectReply("Hello Eve!");
    await stranger.command("whoami");
    await stranger.expectReply("known=false admin=false roles= plan=undefined");
    assert.equal(await bot.users.getUser(stranger.user.id), null, "a closed bot registers no one");
    assert.deepEqual(
      stranger.menu().map((c) => c.command),
      PUBLIC_MENU,
    );
  });

  it("lets a user in through a granted role, and locks them out again when it is revoked", async () => {
    await bot.users.createRole({ name: "agents" });
    await bot.users.grant("secret", { roles: ["agents"] });
    const chat = await knownChat(bot, emu);
    await chat.command("secret");
    await chat.expectReply("You are not allowed to do that.");
    await chat.expectMenu(PUBLIC_MENU);

    await bot.users.assignRole("agents", chat.user.id);
    await chat.expectMenu(["avatar", "secret", "shop", "start", "whoami", "help"]);
    await chat.command("secret");
    await chat.expectReply("The secret is 42.");

    await bot.users.revoke("secret", { roles: ["agents"] });
    await chat.expectMenu(PUBLIC_MENU);
    await chat.command("secret");
    await chat.expectReply("You are not allowed to do that.");
  });

  it("grants to one user by id, and /help lists only what they may run", async () => {
    const chat = await knownChat(bot, emu);
    await bot.users.grant("buy", { users: [chat.user.id] });
    await chat.command("buy", "2 apples");
    await chat.expectReply(`Bought 2 apples for ${chat.user.first_name}.`);
    await chat.command("help");
    const help = messageText(await chat.nextReply());
    assert.match(help, /\/buy — Buy things/);
    assert.doesNotMatch(help, /\/secret/);
    await chat.expectMenu(["avatar", "buy", "shop", "start", "whoami", "help"]);
  });

  it("lets admins run everything and shows them every command", async () => {
    const admin = await knownChat(bot, emu, { isAdmin: true });
    await admin.command("secret");
    await admin.expectReply("The secret is 42.");
    await admin.command("whoami");
    await admin.expectReply("known=true admin=true roles= plan=free");
    await admin.expectMenu(ALL_MENU);
  });

  it("ignores blocked users entirely", async () => {
    const chat = await knownChat(bot, emu, { isAdmin: true });
    await chat.command("secret");
    await chat.expectReply("The secret is 42.");
    await bot.users.updateUser(chat.user.id, { status: "blocked" });
    await chat.expectMenu(PUBLIC_MENU);
    await chat.command("secret");
    await chat.send("anyone there?");
    await chat.command("start");
    await chat.command("help");
    const logged = await refusals(log, chat.user.id, 4);
    assert.deepEqual(
      logged.map((e) => [e.fields.outcome, e.fields.action]),
      [
        ["blocked", "secret"],
        ["blocked", undefined],
        ["blocked", "start"],
        ["blocked", undefined],
      ],
    );
    assert.equal(chat.replies().length, 1, "nothing was answered while blocked");
    await bot.users.updateUser(chat.user.id, { status: "active" });
    await chat.command("start");
    await chat.expectReply(`Hello ${chat.user.first_name}!`);
  });

  it("authorizes buttons like commands: the presser must be allowed", async () => {
    const stranger = emu.chat();
    await stranger.command("shop");
    await stranger.expectReply("What would you like?");
    const refused = await stranger.press("Buy 3");
    assert.deepEqual(refused, { text: "You are not allowed to do that.", showAlert: true });
    assert.equal(stranger.replies().length, 1, "a refused press runs nothing");

    const buyer = await knownChat(bot, emu);
    await bot.users.grant("buy", { users: [buyer.user.id] });
    await buyer.command("shop");
    await buyer.expectReply("What would you like?");
    const answered = await buyer.press("Buy 3");
    assert.equal(answered.showAlert, false);
    await buyer.expectReply(`Bought 3 for ${buyer.user.first_name}.`);
    const secret = await buyer.press("Secret");
    assert.equal(secret.text, "You are not allowed to do that.");
  });

  it("applies the project's user schema: defaults, validation, typed data", async () => {
    const chat = emu.chat();
    await bot.users.createUser({
      telegramId: chat.user.id,
      firstName: "Pro",
      isAdmin: true,
      data: { plan: "pro", credits: 3 },
    });
    await chat.command("whoami");
    await chat.expectReply("known=true admin=true roles= plan=pro");
    await assert.rejects(
      bot.users.updateUser(chat.user.id, { data: { plan: "gold" } }),
      (error: Error & { code?: string }) =>
        error.code === "KAMIHI_USER_INVALID" && /data\.plan/.test(error.message),
    );
    assert.equal((await bot.users.getUser(chat.user.id))?.data.plan, "pro", "nothing was written");
    assert.deepEqual(
      bot.users.fields().map((f) => [f.name, f.type]),
      [
        ["plan", "choice"],
        ["credits", "integer"],
      ],
    );
  });

  it("refreshes profile fields from Telegram on contact", async () => {
    const chat = emu.chat({ firstName: "New name", username: "newname" });
    await bot.users.createUser({ telegramId: chat.user.id, firstName: "Old name", isAdmin: true });
    await chat.command("start");
    await chat.expectReply("Hello New name!");
    const user = await bot.users.getUser(chat.user.id);
    assert.equal(user?.firstName, "New name");
    assert.equal(user?.username, "newname");
    assert.ok(user?.lastSeenAt instanceof Date);
  });
});

describe("an empty unauthorizedMessage", async () => {
  const { emu } = await accessBot({}, { unauthorizedMessage: "" });

  it("refuses in silence", async () => {
    const chat = emu.chat();
    await chat.command("secret");
    await chat.command("start");
    await chat.expectReply(`Hello ${chat.user.first_name}!`);
    assert.equal(chat.replies().length, 1);
  });
});

describe("open registration", async () => {
  const { bot, emu } = await startBot("access", (b) =>
    b.configure({
      settings: { users: { registration: "open", defaultRoles: ["members"], cacheSeconds: 0.2 } },
    }),
  );
  await bot.users.createRole({ name: "members" });
  await bot.users.grant("buy", { roles: ["members"] });

  it("creates an active user with the default roles on first contact", async () => {
    const chat = emu.chat({ firstName: "Newcomer" });
    await chat.command("buy", "1");
    await chat.expectReply("Bought 1 for Newcomer.");
    const user = await bot.users.getUser(chat.user.id);
    assert.equal(user?.status, "active");
    assert.deepEqual(user?.roles, ["members"]);
    await chat.command("secret");
    await chat.expectReply("You are not allowed to do that.");
    await chat.expectMenu(["avatar", "buy", "shop", "start", "whoami", "help"]);
  });
});

// The approval race runs on both stores: decisions are a compare-and-set in the store.
const mongo = requiredMongoUrl();
const backends = [
  { name: "embedded store", db: { url: "memory://" } },
  {
    name: "MongoDB",
    db: { url: mongo.url ?? "", name: uniqueDbName("kamihi_access") },
    skip: mongo.skip,
    // The test server is shared with other suites running at the same time: give it time.
    replyTimeoutMs: 30_000,
  },
];

/** Drops a test database on a MongoDB server (nothing for the embedded store). */
async function dropDatabase(db: { url: string; name?: string }) {
  if (!db.url.startsWith("mongodb")) return;
  const store = createStore({ url: db.url, name: db.name ?? "kamihi", logger: silentLogger });
  await (store.raw() as { dropDatabase(): Promise<unknown> }).dropDatabase();
  await store.close();
}

for (const { name, db, skip, replyTimeoutMs } of backends) {
  describe(`approval registration (${name})`, { skip: skip ?? false }, async () => {
    const first = 900_001;
    const second = 900_002;
    const log = new LogCapture();
    const { bot, emu } = await startBot(
      "access",
      (b) =>
        b.configure({
          logger: log.logger(),
          settings: {
            db,
            users: { registration: "approval", admins: [first, second], cacheSeconds: 0.2 },
          },
        }),
      { replyTimeoutMs: replyTimeoutMs ?? 5000 },
    );
    after(() => dropDatabase(db));
    const adminA = emu.chat({ userId: first, firstName: "Alice" });
    const adminB = emu.chat({ userId: second, firstName: "Bob" });

    it("makes the configured admins admins", async () => {
      assert.equal((await bot.users.getUser(first))?.isAdmin, true);
      assert.equal((await bot.users.getUser(second))?.isAdmin, true);
    });

    it("asks every admin; two admins approving at once apply it once, and the user is told", async () => {
      const applicant = emu.chat({ firstName: "Zoe*", username: "zoe_z" });
      await applicant.command("secret");
      await applicant.expectReply(
        "Thanks! Your request was sent to the admins; I'll tell you when it is approved.",
      );
      assert.equal((await bot.users.getUser(applicant.user.id))?.status, "pending");
      const requestA = messageText(await adminA.nextReply());
      const requestB = messageText(await adminB.nextReply());
      assert.equal(
        requestA,
        `New access request: Zoe* (@zoe_z), Telegram id ${applicant.user.id} wants to use the bot.`,
      );
      assert.equal(requestB, requestA);

      // While pending, the user is reminded and runs nothing.
      await applicant.command("secret");
      await applicant.expectReply(/awaiting|sent to the admins/);

      const [a, b] = await Promise.all([adminA.press("✅ Approve"), adminB.press("✅ Approve")]);
      const answers = [a.text, b.text].sort();
      assert.deepEqual(answers, ["Already approved.", "Approved."]);
      await applicant.expectReply("Welcome! An admin approved your access. Send /help to start.");
      assert.equal((await bot.users.getUser(applicant.user.id))?.status, "active");
      await applicant.command("start");
      await applicant.expectReply("Hello Zoe*!");
      // Both request messages now say what happened, without buttons.
      const edited = [adminA, adminB].map((chat) => {
        const last = chat.replies().at(-1);
        assert.ok(last, "each admin got the request");
        return messageText(last);
      });
      assert.ok(
        edited.some((text) => /^✅ Zoe\* was approved by (Alice|Bob)\.$/.test(text)),
        edited.join(" | "),
      );
      assert.ok(
        edited.some((text) => text === "Access request of Zoe*: already approved."),
        edited.join(" | "),
      );
    });

    it("a denied user is told, then ignored", async () => {
      const applicant = emu.chat({ firstName: "Mallory" });
      await applicant.send("hello, may I come in?");
      await applicant.expectReply(/sent to the admins/);
      await adminA.nextReply();
      await adminB.nextReply();
      assert.deepEqual(await adminB.press("❌ Deny"), { text: "Denied.", showAlert: false });
      await applicant.expectReply("Sorry, your request was not approved.");
      assert.equal((await bot.users.getUser(applicant.user.id))?.status, "blocked");
      await applicant.command("secret");
      await applicant.command("start");
      await refusals(log, applicant.user.id, 2, replyTimeoutMs);
      assert.equal(applicant.replies().length, 2);
    });

    it("refuses the decision of a non-admin who presses a forwarded button", async () => {
      const applicant = emu.chat({ firstName: "Trudy" });
      await applicant.command("start");
      await applicant.expectReply(/sent to the admins/);
      await adminA.nextReply();
      await adminB.nextReply();
      // A non-admin presses the button (say, on a forwarded copy of the request).
      const request = adminA.replies().at(-1);
      assert.ok(request);
      const intruder = { id: 900_099, is_bot: false, first_name: "Intruder" };
      const answer = await emu.userPress(
        adminA.chat,
        intruder,
        request,
        `kamihi:reg:yes:${applicant.user.id}`,
      );
      assert.equal(answer.text, "Only admins can decide on access requests.");
      assert.equal((await bot.users.getUser(applicant.user.id))?.status, "pending");
    });
  });
}
