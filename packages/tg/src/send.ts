import type {
  ChatId,
  InputFile,
  Logger,
  MessageRef,
  OutgoingMessage,
  ReplyMarkup,
  TextFormat,
  TextMessage,
} from "@kamihi/core";
import { Input } from "telegraf";
import { MAX_CAPTION_LENGTH, type PreparedText, prepare, splitText } from "./prepare.js";

/** One API call inside a chat's turn: waits for a slot, then calls with retries. */
export type Post = <R>(method: string, payload: Record<string, unknown>) => Promise<R>;

/**
 * Sends one logical message within a chat's turn: a long text as several messages, the
 * keyboard under the last, a caption too long for Telegram as a text that follows. Markdown
 * goes out as text and entities; should Telegram refuse the entities, the same words go out
 * without them.
 */
export async function sendMessage(
  chatId: ChatId,
  message: OutgoingMessage,
  send: Post,
  log: Logger,
): Promise<MessageRef[]> {
  const refs: MessageRef[] = [];
  const sent = (result: unknown) => {
    const messages = (Array.isArray(result) ? result : [result]) as Array<{ message_id: number }>;
    for (const m of messages) refs.push({ chatId, messageId: m.message_id });
  };
  const common = (m: { silent?: boolean; replyToMessageId?: number }) => ({
    ...(m.silent ? { disable_notification: true } : {}),
    ...(m.replyToMessageId === undefined
      ? {}
      : {
          reply_parameters: { message_id: m.replyToMessageId, allow_sending_without_reply: true },
        }),
  });
  /** Sends with the formatting, and once more without it if Telegram refuses the entities. */
  const withFallback = async <R>(
    method: string,
    formatted: Record<string, unknown>,
    plain: Record<string, unknown>,
  ): Promise<R> => {
    try {
      return await send<R>(method, formatted);
    } catch (error) {
      if (!isEntityError(error) || formatted === plain) throw error;
      // The words matter more than the formatting.
      log.warn(
        { chatId, err: error },
        `Telegram refused the entities of ${method}; sent as plain text`,
      );
      return send<R>(method, plain);
    }
  };
  switch (message.type) {
    case "text": {
      const parts = splitText(message.text, message.format ?? "markdown");
      // Nothing to show: Telegram answers that the text is empty, and the caller hears it.
      if (parts.length === 0) parts.push({ text: "", source: "" });
      for (const [index, part] of parts.entries()) {
        const extra = {
          ...(message.disableLinkPreview ? { link_preview_options: { is_disabled: true } } : {}),
          ...(index === 0 ? common(message) : { disable_notification: message.silent ?? false }),
          // The keyboard goes under the last part, where the user reads it.
          ...(index === parts.length - 1 ? markup(message.replyMarkup) : {}),
        };
        const formatted = { ...textFields(part), ...extra };
        const plain = part.entities?.length ? { text: part.text, ...extra } : formatted;
        sent(await withFallback("sendMessage", formatted, plain));
      }
      return refs;
    }
    case "location":
      sent(
        await send("sendLocation", {
          latitude: message.latitude,
          longitude: message.longitude,
          ...common(message),
          ...markup(message.replyMarkup),
        }),
      );
      return refs;
    case "mediaGroup": {
      const items = message.items.map((item) => ({
        type: item.type,
        media: inputFile(item.file),
        prepared: captionOf(item.caption, item.format),
      }));
      const media = (withEntities: boolean) =>
        items.map(({ type, media, prepared }) => ({
          type,
          media,
          ...captionFields(prepared, withEntities),
        }));
      const formatted = { media: media(true), ...common(message) };
      const refusable = items.some(({ prepared }) => prepared?.entities?.length);
      sent(
        await withFallback(
          "sendMediaGroup",
          formatted,
          refusable ? { media: media(false), ...common(message) } : formatted,
        ),
      );
      return refs;
    }
    default: {
      const method = `send${message.type[0]?.toUpperCase()}${message.type.slice(1)}`;
      const prepared = captionOf(message.caption, message.format);
      const captionFits = message.caption === undefined || prepared !== undefined;
      const payload = {
        [message.type]: inputFile(message.file),
        ...common(message),
        ...(captionFits ? markup(message.replyMarkup) : {}),
      };
      const formatted = { ...payload, ...captionFields(prepared, true) };
      sent(
        await withFallback(
          method,
          formatted,
          prepared?.entities?.length
            ? { ...payload, ...captionFields(prepared, false) }
            : formatted,
        ),
      );
      // A caption over Telegram's limit follows as text, with the keyboard under it.
      if (!captionFits && message.caption !== undefined) {
        const follow: TextMessage = {
          type: "text",
          text: message.caption,
          ...(message.format === undefined ? {} : { format: message.format }),
          ...(message.replyMarkup === undefined ? {} : { replyMarkup: message.replyMarkup }),
        };
        refs.push(...(await sendMessage(chatId, follow, send, log)));
      }
      return refs;
    }
  }
}

/** Replaces a sent message's text (or caption) within its chat's turn. */
export async function editMessage(
  ref: MessageRef,
  message: TextMessage,
  post: Post,
): Promise<void> {
  const format = message.format ?? "markdown";
  // An edit replaces one message: text beyond Telegram's limit is cut, never split.
  const asText = splitText(message.text, format)[0] ?? { text: "", source: "" };
  const edit = async (withEntities: boolean) => {
    try {
      await post("editMessageText", {
        message_id: ref.messageId,
        ...textFields(asText, withEntities),
        ...markup(message.replyMarkup),
        ...(message.disableLinkPreview ? { link_preview_options: { is_disabled: true } } : {}),
      });
    } catch (error) {
      // Text messages change their text; media messages their caption.
      if (!/there is no text in the message to edit/.test((error as Error).message)) throw error;
      const asCaption = splitText(message.text, format, MAX_CAPTION_LENGTH)[0];
      await post("editMessageCaption", {
        message_id: ref.messageId,
        ...captionFields(asCaption, withEntities),
        ...markup(message.replyMarkup),
      });
    }
  };
  try {
    try {
      await edit(true);
    } catch (error) {
      if (format !== "markdown" || !isEntityError(error)) throw error;
      await edit(false);
    }
  } catch (error) {
    if (/message is not modified/.test((error as Error).message)) return;
    throw error;
  }
}

/**
 * Telegram's answer to formatting it refuses: a 400 that names entities ("can't parse
 * entities", "Can't parse MessageEntity", an entity's bad URL).
 */
function isEntityError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const details = (error as { details?: { errorCode?: unknown; description?: unknown } }).details;
  if (details?.errorCode !== undefined) {
    return details.errorCode === 400 && /entit/i.test(String(details.description ?? ""));
  }
  return /can't parse entities/i.test(error.message);
}

/** `text` with its `entities` or `parse_mode`. */
function textFields(prepared: PreparedText, withEntities = true): Record<string, unknown> {
  return {
    text: prepared.text,
    ...(withEntities && prepared.entities?.length ? { entities: prepared.entities } : {}),
    ...(prepared.parseMode ? { parse_mode: prepared.parseMode } : {}),
  };
}

/** A caption prepared in its format, or `undefined` if there is none or it is too long. */
function captionOf(text: string | undefined, format: TextFormat | undefined) {
  if (text === undefined || text === "") return undefined;
  const prepared = prepare(text, format ?? "markdown");
  if (prepared.text.length > MAX_CAPTION_LENGTH || prepared.text === "") return undefined;
  return prepared;
}

/** `caption` with its `caption_entities` or `parse_mode`. */
function captionFields(
  prepared: PreparedText | undefined,
  withEntities: boolean,
): Record<string, unknown> {
  if (prepared === undefined) return {};
  return {
    caption: prepared.text,
    ...(withEntities && prepared.entities?.length ? { caption_entities: prepared.entities } : {}),
    ...(prepared.parseMode ? { parse_mode: prepared.parseMode } : {}),
  };
}

export function inputFile(file: InputFile): unknown {
  if ("fileId" in file) return file.fileId;
  if ("url" in file) return file.url;
  if ("path" in file) return Input.fromLocalFile(file.path, file.fileName);
  return Input.fromBuffer(Buffer.from(file.data), file.fileName);
}

export function markup(replyMarkup: ReplyMarkup | undefined): { reply_markup?: unknown } {
  if (replyMarkup === undefined) return {};
  if ("inlineKeyboard" in replyMarkup) {
    return {
      reply_markup: {
        inline_keyboard: replyMarkup.inlineKeyboard.map((row) =>
          row.map((button) =>
            "url" in button
              ? { text: button.text, url: button.url }
              : { text: button.text, callback_data: button.callbackData },
          ),
        ),
      },
    };
  }
  if ("keyboard" in replyMarkup) {
    return {
      reply_markup: {
        keyboard: replyMarkup.keyboard.map((row) => row.map((text) => ({ text }))),
        ...(replyMarkup.oneTime ? { one_time_keyboard: true } : {}),
        ...(replyMarkup.resize === false ? {} : { resize_keyboard: true }),
        ...(replyMarkup.placeholder === undefined
          ? {}
          : { input_field_placeholder: replyMarkup.placeholder }),
      },
    };
  }
  return { reply_markup: { remove_keyboard: true } };
}
