import { askMessage, type Question } from "../questions.js";
import type { Kit, Step } from "./turn.js";

/**
 * An action with questions starts asking them (replacing any question left unanswered here);
 * the turn ends there, and the last reply runs the action. Without questions the action runs
 * now, and a question left unanswered here is dropped.
 */
export function ask(kit: Kit): Step {
  return async (turn, next) => {
    const { action } = turn;
    if (action === undefined) return;
    if (turn.answers !== undefined) return next();
    const first = action.questions[0];
    if (first === undefined) {
      if (kit.asks) await kit.conversations.drop(turn.chat.id, turn.from.id);
      turn.answers = {};
      return next();
    }
    const chatId = turn.chat.id;
    const conversation = await kit.conversations.begin(
      chatId,
      turn.from.id,
      action.name,
      turn.args,
    );
    await kit.say(chatId, askMessage(conversation, action.ask[first.name] as Question<unknown>));
  };
}
