import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { silentLogger } from "@kamihi/core";
import { createEmulator, type Emulator, messageText } from "@kamihi/testing";
import { createBot } from "kamihi";

const root = fileURLToPath(new URL("..", import.meta.url));

describe("the hello-world bot", () => {
  let emu: Emulator;
  const bot = createBot();

  before(async () => {
    emu = await createEmulator();
    bot.configure({
      logger: silentLogger,
      settings: { token: emu.token, tg: { apiRoot: emu.apiRoot }, db: { url: "memory://" } },
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
