import { bot, md } from "kamihi";

// Not public: admins may run it, and whoever a permission names
// (`kamihi permission add secret --user <telegram id>` or `--role <role>`).
export default bot.action(
  async function secret({ user }) {
    return md`Only people allowed to see this get it, ${user.firstName}: the answer is **42**.`;
  },
  { description: "Tell a secret (admins and granted users only)" },
);
