import { escapeMarkdown } from "@kamihi/core";
import { askMessage, type Question, withDownloads } from "../questions.js";
import { mayRun } from "./authorize.js";
import { refuse } from "./refuse.js";
import type { Kit, Step } from "./turn.js";

/**
 * Feeds a reply (typed, sent as a file, or a pressed answer button) to the question waiting for
 * this user here: checked again for access, parsed and validated; a wrong answer is explained
 * and the question asked again; after the last answer the action goes on to run, with them.
 */
export function conversation(kit: Kit): Step {
  const { conversations, registry, settings } = kit;
  return async (turn, next) => {
    const { pending, reply } = turn;
    if (pending === undefined || reply === undefined) return next();
    const { conversation, expired } = pending;
    const chatId = turn.chat.id;
    const action = registry.get(conversation.action);
    await turn.button?.answer();
    if (expired || action === undefined) {
      await conversations.end(conversation);
      const command = action?.commands[0];
      await kit.say(
        chatId,
        command === undefined
          ? "That conversation is over."
          : `That question expired. Send /${escapeMarkdown(command)} to start again.`,
      );
      return;
    }
    if (!(await mayRun(kit, action, turn.user))) {
      // Access can be taken away mid-conversation: the answers never reach the action.
      await conversations.end(conversation);
      await refuse(kit, turn, action.name, true);
      return;
    }
    const current = action.questions[conversation.step];
    const item = current === undefined ? undefined : action.ask[current.name];
    if (current === undefined || item === undefined) {
      await conversations.end(conversation);
      return;
    }
    const parsed = await item.parse(reply, settings.timezone);
    if ("error" in parsed) {
      await kit.say(chatId, { type: "text", text: parsed.error, format: "plain" });
      await kit.say(chatId, askMessage(conversation, item));
      return;
    }
    // Another handler (a second instance, a double press) advanced it first: nothing to do.
    if (!(await conversations.answer(conversation, current.name, parsed.value))) return;
    const following = action.questions[conversation.step];
    if (following !== undefined) {
      await kit.say(
        chatId,
        askMessage(conversation, action.ask[following.name] as Question<unknown>),
      );
      return;
    }
    if (!(await conversations.end(conversation))) return;
    turn.action = action;
    turn.args = conversation.args;
    turn.answers = withDownloads(conversation.answers, kit.transport);
    await next();
  };
}
