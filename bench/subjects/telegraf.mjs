// @ts-check
// Bare Telegraf: the baseline every other subject is compared with. Plain JavaScript run by
// plain `node` (no loader: only the framework is measured), configured through BENCH_*
// variables by the bench.
import { Telegraf } from "telegraf";

const env = process.env;
const token = env.BENCH_TOKEN ?? "";
const apiRoot = env.BENCH_API_ROOT ?? "";
const extraCommands = Number(env.BENCH_COMMANDS ?? 0);

// webhookReply off: the reply is a sendMessage call, the same work every subject does.
const bot = new Telegraf(token, { telegram: { apiRoot, webhookReply: false } });

bot.command("hello", (ctx) => ctx.reply(`hello ${ctx.payload}`));

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
  process.stderr.write(`telegraf: ${/** @type {Error} */ (error).message}\n`);
});

process.once("SIGTERM", () => {
  bot.stop("SIGTERM");
  setTimeout(() => process.exit(0), 200).unref();
});

if (env.BENCH_MODE === "webhook") {
  await bot.launch({
    webhook: {
      domain: "bench.invalid",
      hookPath: env.BENCH_WEBHOOK_PATH ?? "/webhook",
      host: "127.0.0.1",
      port: Number(env.BENCH_WEBHOOK_PORT),
      secretToken: env.BENCH_WEBHOOK_SECRET ?? "",
    },
  });
} else {
  // launch() settles only when polling stops.
  void bot.launch();
}
