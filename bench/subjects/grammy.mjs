// @ts-check
// Bare grammY, beside bare Telegraf. Plain JavaScript run by plain `node` (no loader: only the
// framework is measured), configured through BENCH_* variables by the bench. bot.start()
// handles updates one at a time, as grammY does without @grammyjs/runner.
import { createServer } from "node:http";
import { Bot, webhookCallback } from "grammy";

const env = process.env;
const token = env.BENCH_TOKEN ?? "";
const apiRoot = env.BENCH_API_ROOT ?? "";
const extraCommands = Number(env.BENCH_COMMANDS ?? 0);

const bot = new Bot(token, { client: { apiRoot } });

bot.command("hello", (ctx) => ctx.reply(`hello ${ctx.match}`));

/** The open questions, by chat: what a bare bot keeps for a conversation. */
/** @type {Map<number, { question: string; at: number }>} */
const asking = new Map();
bot.command("ask", (ctx) => {
  asking.set(ctx.chat.id, { question: "name", at: Date.now() });
  return ctx.reply("Your name?");
});

for (let i = 0; i < extraCommands; i++) {
  const name = `a${String(i).padStart(4, "0")}`;
  bot.command(name, (ctx) => ctx.reply(name));
}

bot.catch((error) => {
  process.stderr.write(`grammy: ${error.message}\n`);
});

if (env.BENCH_MODE === "webhook") {
  const secretToken = env.BENCH_WEBHOOK_SECRET ?? "";
  const path = env.BENCH_WEBHOOK_PATH ?? "/webhook";
  const handle = webhookCallback(bot, "http", { secretToken });
  const server = createServer((req, res) => {
    if (req.method === "POST" && req.url === path) return handle(req, res);
    res.writeHead(404).end();
  });
  server.keepAliveTimeout = 60_000;
  await bot.init();
  await new Promise((resolve) => {
    server.listen(Number(env.BENCH_WEBHOOK_PORT), "127.0.0.1", () => resolve(undefined));
  });
  await bot.api.setWebhook(`https://bench.invalid${path}`, { secret_token: secretToken });
  process.once("SIGTERM", () => {
    server.close();
    server.closeAllConnections();
  });
} else {
  process.once("SIGTERM", () => void bot.stop());
  void bot.start();
}
