// Starts the bot: settings from kamihi.yaml, .env and KAMIHI_* variables; actions from actions/.
import { bot } from "kamihi";

await bot.start();

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    void bot.stop().then(() => process.exit(0));
  });
}
