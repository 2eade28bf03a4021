import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { silentLogger } from "@kamihi/core";
import { createEmulator, type Emulator, messageText } from "@kamihi/testing";
import { createBot } from "kamihi";

const root = fileURLToPath(new URL("..", import.meta.url));
const ADMIN = 4242;

describe("the hello-world bot", () => {
  let emu: Emulator;
  const bot = createBot();

  before(async () => {
    emu = await createEmulator();
    bot.configure({
      logger: silentLogger,
      settings: {
        token: emu.token,
        tg: { apiRoot: emu.apiRoot },
        db: { url: "memory://" },
        users: { admins: [ADMIN] },
      },
    });
    await bot.start({ root });
  });
  after(async () => {
    await bot.stop();
    await emu.stop();
  });

  it("greets by name from its template", async () => {
    const chat = emu.chat({ firstName: "Ada" });
    await chat.command("start");
    const reply = messageText(await chat.nextReply());
    assert.match(reply, /^Hello Ada! I'm a Kamihi bot\./);
    assert.match(reply, /— the hello-world bot$/);
  });

  it("offers its actions as buttons under the greeting", async () => {
    const chat = emu.chat();
    await chat.command("start");
    await chat.nextReply();
    await chat.press("What time is it?");
    await chat.expectReply(/^It is .+ in Europe\/Madrid\.$/);
  });

  it("tells its secret to admins only, unless a permission names someone", async () => {
    const admin = emu.chat({ userId: ADMIN, firstName: "Ada" });
    await admin.command("secret");
    await admin.expectReply("Only people allowed to see this get it, Ada: the answer is 42.");
    const stranger = emu.chat();
    await stranger.command("secret");
    await stranger.expectReply("You are not allowed to do that.");
  });

  it("tells the time in the configured timezone", async () => {
    const chat = emu.chat();
    await chat.command("time");
    await chat.expectReply(/^It is .+ in Europe\/Madrid\.$/);
  });

  it("shows its commands in the menu", () => {
    assert.deepEqual(
      emu
        .chat()
        .menu()
        .map((c) => c.command),
      ["start", "time", "help"],
    );
  });
});
