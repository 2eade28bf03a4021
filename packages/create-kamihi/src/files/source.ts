import type { ProjectFile } from "./project.js";

/** The `/start` action: one function, its command named after it, answering with a template. */
export function startActionFiles(): ProjectFile[] {
  const action = `import { bot } from "kamihi";

export default bot.action(
  async function start({ user, template }) {
    return template({ name: user.firstName });
  },
  { description: "Say hello", public: true },
);
`;
  // <%= %> escapes values for Telegram Markdown: a user's name never becomes formatting.
  const template = `Hello <%= it.name %>!

I'm a bot running on Kamihi. Send /help to see what I can do.

<%~ include("signature", it) %>
`;
  return [
    { path: "actions/start/start.ts", content: action },
    { path: "actions/start/start.md.eta", content: template },
  ];
}

/** A shared partial in `templates/`, included by name from any action's template. */
export function signatureFile(): ProjectFile {
  return {
    path: "templates/signature.eta",
    content: `_— <%= it.botName ?? "your Kamihi bot" %>_\n`,
  };
}

/** `models/user.ts`: the project's own user fields, validated with valibot (re-exported by kamihi). */
export function userModelFile(): ProjectFile {
  const content = `import { v } from "kamihi";

/** Your users' own fields: validated on every write, typed on ctx.user.data. */
const schema = v.object({
  // plan: v.optional(v.picklist(["free", "pro"]), "free"),
});

export default schema;

declare module "kamihi" {
  interface UserData extends v.InferOutput<typeof schema> {}
}
`;
  return { path: "models/user.ts", content };
}

/** `tsconfig.json`: strict type checking only; Kamihi runs the `.ts` files itself. */
export function tsconfigFile(): ProjectFile {
  const config = {
    compilerOptions: {
      target: "ES2022",
      lib: ["ES2022"],
      module: "NodeNext",
      moduleResolution: "NodeNext",
      types: ["node"],
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      forceConsistentCasingInFileNames: true,
    },
    include: ["actions", "models", "test"],
  };
  return { path: "tsconfig.json", content: `${JSON.stringify(config, null, 2)}\n` };
}

/** `test/start.test.ts`: the bot against the Bot API emulator, passing out of the box. */
export function startTestFile(): ProjectFile {
  const content = `import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { fileURLToPath } from "node:url";
import { createBot } from "kamihi";
import { createEmulator, type Emulator, messageText } from "kamihi/testing";

// The project's folder: where actions/, templates/ and kamihi.yaml are.
const root = fileURLToPath(new URL("..", import.meta.url));
let emulator: Emulator;
const bot = createBot();

before(async () => {
  // A fake Telegram on this machine, and a fresh in-memory database: no token or network needed.
  emulator = await createEmulator();
  bot.configure({
    settings: {
      token: emulator.token,
      tg: { apiRoot: emulator.apiRoot },
      db: { url: "memory://" },
      log: { level: "silent" },
    },
  });
  await bot.start({ root });
});

after(async () => {
  await bot.stop();
  await emulator.stop();
});

it("greets the user by name", async () => {
  const chat = emulator.chat({ firstName: "Ada" });
  await chat.command("start");
  assert.match(messageText(await chat.nextReply()), /Hello Ada!/);
});
`;
  return { path: "test/start.test.ts", content };
}
