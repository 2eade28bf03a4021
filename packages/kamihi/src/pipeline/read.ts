import type { CallbackQuery, Message, Update } from "@kamihi/core";
import { summarizeUpdate } from "@kamihi/core";
import { answerButton, replyOf } from "../questions.js";
import { parseCommand } from "./parse-command.js";
import { createTurn, type Kit, type PressedButton, type Turn } from "./turn.js";

/**
 * Reads what an update asks, before anyone is looked up: a command (addressed to this bot), a
 * reply to a waiting question, a pressed button. Returns `undefined` for what Kamihi leaves
 * alone (other kinds of update, commands for another bot, chatter in groups, buttons that are
 * not Kamihi's — a pressed one is still answered, so its spinner stops).
 */
export async function readUpdate(
  kit: Kit,
  update: Update,
  raw: unknown,
): Promise<Turn | undefined> {
  const summary = summarizeUpdate(update);
  if (summary.kind === "callback_query") return readButton(kit, update, raw);
  if (summary.kind !== "message" || summary.chat === undefined || summary.from === undefined) {
    return undefined;
  }
  const { chat, from, text } = summary;
  const command = parseCommand(text);
  if (command?.bot !== undefined && command.bot.toLowerCase() !== kit.me.username.toLowerCase()) {
    return undefined;
  }
  // A plain message may answer a question; otherwise, in groups, plain chatter is ignored.
  const pending =
    command === undefined && kit.asks ? await kit.conversations.find(chat.id, from.id) : undefined;
  if (command === undefined && pending === undefined && chat.type !== "private") return undefined;
  const message = (update as { message?: Message }).message;
  return createTurn(update, raw, chat, from, undefined, {
    command,
    pending,
    reply: pending === undefined ? undefined : replyOf(text, message),
  });
}

async function readButton(kit: Kit, update: Update, raw: unknown): Promise<Turn | undefined> {
  const query = (update as { callback_query: CallbackQuery }).callback_query;
  const button = pressedButton(kit, query);
  const data = "data" in query ? query.data : undefined;
  const message = query.message;
  if (data === undefined || message === undefined) {
    await button.answer();
    return undefined;
  }
  const chat = message.chat;
  const from = query.from;
  const pressed = answerButton(data);
  if (pressed !== undefined) {
    // Only the user who was asked can answer, and only the question being asked.
    const pending = await kit.conversations.find(chat.id, from.id);
    const conversation = pending?.conversation;
    const action = conversation && kit.registry.get(conversation.action);
    const current = action?.questions[conversation?.step ?? -1];
    const option = current && action?.ask[current.name]?.options?.[pressed.option];
    if (
      conversation?.id !== pressed.id ||
      conversation.step !== pressed.step ||
      option === undefined
    ) {
      await button.answer("This question is not yours, or it was already answered.");
      return undefined;
    }
    return createTurn(update, raw, chat, from, button, { pending, reply: { text: option } });
  }
  if (kit.approvals.isDecision(data))
    return createTurn(update, raw, chat, from, button, { decision: data });
  const command = data.startsWith("/") ? parseCommand(data) : undefined;
  if (command === undefined) {
    // Not Kamihi's: raw middleware may have handled it; stop the client's spinner anyway.
    await button.answer();
    return undefined;
  }
  return createTurn(update, raw, chat, from, button, { command });
}

/** A button answered at most once: later answers (and the pipeline's final one) do nothing. */
function pressedButton(kit: Kit, query: CallbackQuery): PressedButton {
  let answered = false;
  const message = query.message;
  return {
    ref: { chatId: message?.chat.id ?? query.from.id, messageId: message?.message_id ?? 0 },
    async answer(text, alert = false) {
      if (answered) return;
      answered = true;
      await kit.transport
        .answerCallback(query.id, {
          ...(text ? { text: text.slice(0, 200) } : {}),
          ...(alert ? { showAlert: true } : {}),
        })
        .catch((error: unknown) =>
          kit.log.debug({ err: error }, "a button press could not be answered"),
        );
    },
  };
}
