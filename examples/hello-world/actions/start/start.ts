import { bot } from "kamihi";

export default bot.action(
  async function start({ user, template }) {
    return bot.message(await template({ name: user.firstName }), {
      buttons: [
        [bot.button("What time is it?", "/time"), bot.button("Tell me a secret", "/secret")],
      ],
    });
  },
  { description: "Say hello", public: true },
);
