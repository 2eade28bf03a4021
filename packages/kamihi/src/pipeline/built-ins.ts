import { escapeMarkdown, type User } from "@kamihi/core";
import { refuse } from "./refuse.js";
import type { Kit, Step, Turn } from "./turn.js";

/**
 * What every bot answers by itself: `/help`, `/admin` (a sign-in link for the web admin),
 * `/cancel` (a question left unanswered) and admins' decisions on access requests. An action
 * that declares `/admin` or `/cancel` itself takes them over.
 */
export function builtIns(kit: Kit): Step {
  const { settings, registry, conversations } = kit;
  return async (turn, next) => {
    if (turn.decision !== undefined) {
      const send = (id: number, response: unknown) => kit.say(id, response);
      const { button } = turn;
      const ref = button?.ref ?? { chatId: turn.chat.id, messageId: 0 };
      const text = await kit.approvals.decide(turn.decision, turn.user, turn.from, ref, send);
      await button?.answer(text);
      return;
    }
    const name = turn.command?.name;
    if (turn.action !== undefined || name === undefined) return next();
    if (name === "help") {
      await turn.button?.answer();
      await kit.say(turn.chat.id, await helpText(kit, turn.user));
      return;
    }
    const taken = registry.byCommand(name) !== undefined;
    if (name === "admin" && !taken && kit.adminLink !== undefined) {
      await sendAdminLink(kit, turn, kit.adminLink);
      return;
    }
    if (name === settings.responses.cancelCommand && !taken && kit.asks) {
      await turn.button?.answer();
      const had = await conversations.drop(turn.chat.id, turn.from.id);
      await kit.say(turn.chat.id, had ? "Cancelled." : "There is nothing to cancel.");
      return;
    }
    await next();
  };
}

/** The commands this user may run, with their descriptions. */
async function helpText(kit: Kit, user: User | null): Promise<string> {
  const lines = (await kit.menus.of(user))
    .filter((entry) => entry.command !== "help")
    .map((entry) => `/${escapeMarkdown(entry.command)} — ${escapeMarkdown(entry.description)}`);
  return lines.length === 0
    ? "I have no commands for you yet."
    : ["Here is what I can do:", "", ...lines].join("\n");
}

/**
 * `/admin`: a single-use sign-in link for the web admin, for admins only and only in their
 * private chat (a link is personal: whoever opens it is signed in).
 */
async function sendAdminLink(
  kit: Kit,
  turn: Turn,
  adminLink: (telegramId: number) => Promise<string>,
): Promise<void> {
  const { user, chat } = turn;
  if (user === null || user.status !== "active" || !user.isAdmin) {
    await refuse(kit, turn, "admin");
    return;
  }
  await turn.button?.answer();
  if (chat.type !== "private") {
    await kit.say(chat.id, "Send /admin to me in a private chat: sign-in links are personal.");
    return;
  }
  const link = await adminLink(user.telegramId);
  kit.log.info({ userId: user.telegramId }, "an admin sign-in link was sent");
  await kit.say(chat.id, {
    type: "text",
    format: "plain",
    text: `Your sign-in link for the admin (it works once, for 10 minutes; do not share it):\n${link}`,
    // A link preview would fetch the link; the admin asks to confirm, but there is no need.
    disableLinkPreview: true,
  });
}
