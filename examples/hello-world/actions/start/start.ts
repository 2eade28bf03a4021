import { bot } from "kamihi";

export default bot.action(
  async function start({ user, template }) {
    return template({ name: user.firstName });
  },
  { description: "Say hello", public: true },
);
