import { bot, md } from "kamihi";

export default bot.action(
  async function time({ settings }) {
    const now = new Intl.DateTimeFormat("en-GB", {
      timeZone: settings.timezone,
      dateStyle: "full",
      timeStyle: "short",
    }).format(new Date());
    return md`It is ${now} in ${settings.timezone}.`;
  },
  { description: "Tell the time in the bot's timezone", public: true },
);
