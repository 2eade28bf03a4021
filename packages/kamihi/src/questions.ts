import {
  type InlineButton,
  KamihiError,
  type Message,
  type QuestionInfo,
  type StandardSchemaV1,
  type Transport,
} from "@kamihi/core";
import { DateTime } from "luxon";
import * as v from "valibot";
import type { Conversation } from "./conversations.js";

/** The kinds of question an action can ask. */
export type QuestionType =
  | "string"
  | "integer"
  | "number"
  | "boolean"
  | "choice"
  | "date"
  | "time"
  | "datetime"
  | "file"
  | "image";

/** A file the user sent as an answer. `download()` fetches its bytes from Telegram. */
export interface FileAnswer {
  fileId: string;
  fileUniqueId: string;
  /** `document`, `photo`, `video`, `audio`, `voice` or `animation`. */
  kind: string;
  fileName?: string;
  mimeType?: string;
  /** Bytes, when Telegram says. */
  size?: number;
  download(): Promise<Uint8Array>;
}

/** A file answer as stored between the steps of a conversation (no functions). */
type StoredFile = Omit<FileAnswer, "download">;

/** What the user replied: the text, or a file. */
export interface Reply {
  text?: string;
  file?: StoredFile;
}

type Parsed<T> = { value: T } | { error: string };

/** A custom check: a function returning the problem (or nothing), or a Standard Schema. */
export type Validator<T> =
  | ((value: T) => string | undefined | null | Promise<string | undefined | null>)
  | StandardSchemaV1<T, unknown>;

/** One question an action asks before it runs; build them with `q`. */
export interface Question<T> {
  readonly type: QuestionType;
  /** Markdown, sent as the question. */
  readonly prompt: string;
  /** The answers offered as buttons (choices, yes/no). */
  readonly options?: readonly string[];
  /** @internal Parses and checks a reply in the bot's time zone. */
  readonly parse: (reply: Reply, zone: string) => Promise<Parsed<T>>;
  /** Phantom: the type of the answer. */
  readonly __answer?: T;
}

/** The questions of an action, by answer name. */
export type Questions = Record<string, Question<unknown>>;

/** The answers of an action's questions, typed from the declared questions. */
export type Answers<Q> = { [K in keyof Q]: Q[K] extends Question<infer T> ? T : never };

interface Common<T> {
  /** A further check, after the type's own: a function or a valibot (Standard) schema. */
  validate?: Validator<T>;
}

/** Runs valibot's parse and a custom validator, turning failures into the message to send. */
async function check<T>(
  schema: v.GenericSchema<unknown, T>,
  input: unknown,
  validate: Validator<T> | undefined,
): Promise<Parsed<T>> {
  const result = v.safeParse(schema, input);
  if (!result.success) return { error: result.issues[0]?.message ?? "That is not a valid answer." };
  const value = result.output;
  if (validate === undefined) return { value };
  if (typeof validate === "function") {
    const problem = await validate(value);
    return problem ? { error: problem } : { value };
  }
  const custom = await validate["~standard"].validate(value);
  if (custom.issues !== undefined) {
    return { error: custom.issues[0]?.message ?? "That is not a valid answer." };
  }
  return { value };
}

function question<T>(
  type: QuestionType,
  prompt: string,
  parse: (reply: Reply, zone: string) => Promise<Parsed<T>>,
  options?: readonly string[],
): Question<T> {
  if (typeof prompt !== "string" || prompt.trim() === "") {
    throw new KamihiError(
      "KAMIHI_ACTION_INVALID_QUESTION",
      `A ${type} question needs a prompt: q.${type}("What is your name?").`,
    );
  }
  return { type, prompt, parse, ...(options === undefined ? {} : { options }) };
}

const needText = "Please answer with a message.";

function textOf(reply: Reply): string | undefined {
  return reply.text?.trim();
}

const YES = new Set(["yes", "y", "true", "1", "si", "sí", "ok"]);
const NO = new Set(["no", "n", "false", "0"]);

const DATE_FORMATS = ["yyyy-MM-dd", "d/M/yyyy", "d.M.yyyy", "d-M-yyyy"];
const TIME_FORMATS = ["H:mm", "HH:mm", "H.mm", "h:mm a", "h a", "H"];

function parseDate(text: string, zone: string): DateTime | undefined {
  for (const format of DATE_FORMATS) {
    const parsed = DateTime.fromFormat(text, format, { zone, locale: "en" });
    if (parsed.isValid) return parsed.startOf("day");
  }
  return undefined;
}

function parseTime(text: string): { hour: number; minute: number } | undefined {
  for (const format of TIME_FORMATS) {
    const parsed = DateTime.fromFormat(text.toUpperCase(), format, { zone: "UTC", locale: "en" });
    if (parsed.isValid) return { hour: parsed.hour, minute: parsed.minute };
  }
  return undefined;
}

const pad = (n: number) => String(n).padStart(2, "0");

/**
 * Question builders: `questions: { name: q.string("Your name?"), age: q.integer("Age?", { min: 0 }) }`.
 * Replies are checked with valibot; a wrong one is explained and the question asked again.
 */
export const q = {
  /** Any text, optionally bounded in length or matched against a pattern. */
  string(
    prompt: string,
    options: Common<string> & { minLength?: number; maxLength?: number; pattern?: RegExp } = {},
  ): Question<string> {
    const { minLength = 0, maxLength = Number.POSITIVE_INFINITY, pattern } = options;
    const schema = v.pipe(
      v.string(needText),
      v.trim(),
      v.check((text) => text.length > 0, needText),
      v.check((text) => text.length >= minLength, `Please send at least ${minLength} characters.`),
      v.check((text) => text.length <= maxLength, `Please send at most ${maxLength} characters.`),
      v.check(
        (text) =>
          pattern === undefined ||
          new RegExp(pattern.source, pattern.flags.replace("g", "")).test(text),
        "That does not look right; please try again.",
      ),
    );
    return question("string", prompt, (reply) => check(schema, textOf(reply), options.validate));
  },

  /** A whole number, optionally within bounds. */
  integer(prompt: string, options: Common<number> & { min?: number; max?: number } = {}) {
    return numeric("integer", prompt, options);
  },

  /** A number (decimals with `.` or `,`), optionally within bounds. */
  number(prompt: string, options: Common<number> & { min?: number; max?: number } = {}) {
    return numeric("number", prompt, options);
  },

  /** Yes or no, offered as buttons; "yes", "y", "no", "n" are understood too. */
  boolean(prompt: string, options: Common<boolean> & { yes?: string; no?: string } = {}) {
    const yes = options.yes ?? "Yes";
    const no = options.no ?? "No";
    const schema = v.pipe(
      v.string(needText),
      v.trim(),
      v.toLowerCase(),
      v.check(
        (text) =>
          YES.has(text) || NO.has(text) || text === yes.toLowerCase() || text === no.toLowerCase(),
        `Please answer ${yes} or ${no}.`,
      ),
      v.transform((text) => YES.has(text) || text === yes.toLowerCase()),
    );
    return question<boolean>(
      "boolean",
      prompt,
      (reply) => check(schema, textOf(reply), options.validate),
      [yes, no],
    );
  },

  /** One of the given options, offered as buttons (typing one works too). */
  choice<const O extends string>(
    prompt: string,
    choices: readonly [O, ...O[]],
    options: Common<O> = {},
  ): Question<O> {
    if (
      !Array.isArray(choices) ||
      choices.length === 0 ||
      choices.some((c) => typeof c !== "string" || c.trim() === "")
    ) {
      throw new KamihiError(
        "KAMIHI_ACTION_INVALID_QUESTION",
        `q.choice(${JSON.stringify(prompt)}, …) needs a list of non-empty texts to choose from.`,
      );
    }
    const message = `Please choose one of: ${choices.join(", ")}.`;
    const schema = v.pipe(
      v.string(message),
      v.trim(),
      v.transform((text): string | undefined =>
        choices.find((c) => c.toLowerCase() === text.toLowerCase()),
      ),
      v.string(message),
    ) as unknown as v.GenericSchema<unknown, O>;
    return question<O>(
      "choice",
      prompt,
      (reply) => check(schema, textOf(reply), options.validate),
      choices,
    );
  },

  /** A calendar day (`2026-11-24`, `24/11/2026`), as a `Date` at midnight in the bot's time zone. */
  date(prompt: string, options: Common<Date> = {}): Question<Date> {
    return question<Date>("date", prompt, async (reply, zone) => {
      const text = textOf(reply);
      const parsed = text === undefined ? undefined : parseDate(text, zone);
      if (parsed === undefined)
        return { error: "Please send a date such as 2026-11-24 or 24/11/2026." };
      return check(v.date(), parsed.toJSDate(), options.validate);
    });
  },

  /** A time of day (`14:30`, `2:30 pm`), as `"HH:MM"`. */
  time(prompt: string, options: Common<string> = {}): Question<string> {
    return question<string>("time", prompt, async (reply) => {
      const text = textOf(reply);
      const parsed = text === undefined ? undefined : parseTime(text);
      if (parsed === undefined) return { error: "Please send a time such as 14:30 or 2:30 pm." };
      return check(v.string(), `${pad(parsed.hour)}:${pad(parsed.minute)}`, options.validate);
    });
  },

  /** A date and a time (`2026-11-24 14:30`), in the bot's time zone, as a `Date`. */
  datetime(prompt: string, options: Common<Date> = {}): Question<Date> {
    return question<Date>("datetime", prompt, async (reply, zone) => {
      const text = textOf(reply) ?? "";
      const split = /^(\S+)\s+(.+)$/.exec(text);
      const day = split?.[1] === undefined ? undefined : parseDate(split[1], zone);
      const time = split?.[2] === undefined ? undefined : parseTime(split[2]);
      if (day === undefined || time === undefined) {
        return { error: "Please send a date and a time such as 2026-11-24 14:30." };
      }
      return check(v.date(), day.set(time).toJSDate(), options.validate);
    });
  },

  /** Any file (document, photo, video, audio, voice), optionally limited in size and type. */
  file(prompt: string, options: Common<FileAnswer> & FileLimits = {}) {
    return fileQuestion("file", prompt, options, () => true, "Please send a file.");
  },

  /** A photo (or an image sent as a file). */
  image(prompt: string, options: Common<FileAnswer> & FileLimits = {}) {
    return fileQuestion(
      "image",
      prompt,
      options,
      (file) => file.kind === "photo" || (file.mimeType ?? "").startsWith("image/"),
      "Please send a photo.",
    );
  },
};

interface FileLimits {
  /** The largest file accepted, in bytes. */
  maxBytes?: number;
  /** Accepted MIME types, e.g. `["application/pdf"]` or `["image/*"]`. */
  mimeTypes?: readonly string[];
}

function numeric(
  type: "integer" | "number",
  prompt: string,
  options: Common<number> & { min?: number; max?: number },
): Question<number> {
  const what = type === "integer" ? "a whole number" : "a number";
  const pattern = type === "integer" ? /^[+-]?\d+$/ : /^[+-]?(\d+([.,]\d*)?|[.,]\d+)$/;
  const { min = Number.NEGATIVE_INFINITY, max = Number.POSITIVE_INFINITY } = options;
  const range =
    options.min !== undefined && options.max !== undefined
      ? `${what} from ${options.min} to ${options.max}`
      : options.min !== undefined
        ? `${what} of at least ${options.min}`
        : `${what} of at most ${options.max}`;
  const schema = v.pipe(
    v.string(`Please send ${what}.`),
    v.trim(),
    v.regex(pattern, `Please send ${what}.`),
    v.transform((text: string) => Number(text.replace(",", "."))),
    v.check(
      (n: number) => (type === "integer" ? Number.isSafeInteger(n) : Number.isFinite(n)),
      `Please send ${what}.`,
    ),
    v.check((n: number) => n >= min && n <= max, `Please send ${range}.`),
  );
  return question<number>(type, prompt, (reply) => check(schema, textOf(reply), options.validate));
}

function fileQuestion(
  type: "file" | "image",
  prompt: string,
  options: Common<FileAnswer> & FileLimits,
  accepts: (file: StoredFile) => boolean,
  ask: string,
): Question<FileAnswer> {
  return question<FileAnswer>(type, prompt, async (reply) => {
    const file = reply.file;
    if (file === undefined || !accepts(file)) return { error: ask };
    if (options.maxBytes !== undefined && file.size !== undefined && file.size > options.maxBytes) {
      return {
        error: `That file is too big; please send one of at most ${formatBytes(options.maxBytes)}.`,
      };
    }
    if (options.mimeTypes !== undefined) {
      const mime = file.mimeType ?? (file.kind === "photo" ? "image/jpeg" : "");
      const ok = options.mimeTypes.some((accepted) =>
        accepted.endsWith("/*") ? mime.startsWith(accepted.slice(0, -1)) : mime === accepted,
      );
      if (!ok) return { error: `Please send a file of type ${options.mimeTypes.join(", ")}.` };
    }
    // Checked without bytes: the custom validator sees the file's description.
    const value = { ...file } as FileAnswer;
    if (options.validate === undefined) return { value };
    return check(
      v.custom<FileAnswer>(() => true),
      value,
      options.validate,
    );
  });
}

function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${Math.round((bytes / 1024 / 1024) * 10) / 10} MB`;
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${bytes} bytes`;
}

/** The file a message carries, if any (the largest size of a photo). */
export function fileOf(message: Message | undefined): StoredFile | undefined {
  if (message === undefined) return undefined;
  const m = message as unknown as Record<string, unknown>;
  const photo = m.photo as
    | Array<{ file_id: string; file_unique_id: string; file_size?: number }>
    | undefined;
  if (Array.isArray(photo) && photo.length > 0) {
    const largest = photo.reduce((a, b) => ((b.file_size ?? 0) >= (a.file_size ?? 0) ? b : a));
    return {
      kind: "photo",
      fileId: largest.file_id,
      fileUniqueId: largest.file_unique_id,
      ...(largest.file_size === undefined ? {} : { size: largest.file_size }),
    };
  }
  for (const kind of ["document", "video", "audio", "voice", "animation"]) {
    const file = m[kind] as
      | {
          file_id: string;
          file_unique_id: string;
          file_name?: string;
          mime_type?: string;
          file_size?: number;
        }
      | undefined;
    if (file?.file_id === undefined) continue;
    return {
      kind,
      fileId: file.file_id,
      fileUniqueId: file.file_unique_id,
      ...(file.file_name === undefined ? {} : { fileName: file.file_name }),
      ...(file.mime_type === undefined ? {} : { mimeType: file.mime_type }),
      ...(file.file_size === undefined ? {} : { size: file.file_size }),
    };
  }
  return undefined;
}

/** The registry's view of an action's questions. */
export function describeQuestions(questions: Questions | undefined): QuestionInfo[] {
  return Object.entries(questions ?? {}).map(([name, item]) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(name)) {
      throw new KamihiError(
        "KAMIHI_ACTION_INVALID_QUESTION",
        `The question name "${name}" cannot be used: name answers like variables (letters, digits and _).`,
      );
    }
    if (item === null || typeof item !== "object" || typeof item.parse !== "function") {
      throw new KamihiError(
        "KAMIHI_ACTION_INVALID_QUESTION",
        `The question "${name}" is not a question; build it with q: { ${name}: q.string("…") }.`,
      );
    }
    return { name, type: item.type, prompt: item.prompt };
  });
}

/** One conversation: an action waiting for the answers of one user in one chat. */
/** Callback data of an answer button: `kamihi:q:<conversation id>:<step>:<option index>`. */
const ANSWER_BUTTON = /^kamihi:q:([A-Za-z0-9_-]{1,16}):(\d{1,3}):(\d{1,3})$/;

export function answerButton(
  data: string,
): { id: string; step: number; option: number } | undefined {
  const match = ANSWER_BUTTON.exec(data);
  if (match === null) return undefined;
  return { id: match[1] as string, step: Number(match[2]), option: Number(match[3]) };
}

/** The message asking a question: its prompt, with its options as buttons. */
export function askMessage(
  conversation: Pick<Conversation, "id" | "step">,
  item: Question<unknown>,
) {
  const options = item.options ?? [];
  const buttons: InlineButton[][] = [];
  options.forEach((option, index) => {
    const button = {
      text: option,
      callbackData: `kamihi:q:${conversation.id}:${conversation.step}:${index}`,
    };
    const row = buttons.at(-1);
    if (row === undefined || row.length >= 3) buttons.push([button]);
    else row.push(button);
  });
  return {
    type: "text" as const,
    text: item.prompt,
    ...(buttons.length === 0 ? {} : { replyMarkup: { inlineKeyboard: buttons } }),
  };
}

/** Answers with a working `download()` for the handler. */
export function withDownloads(
  answers: Record<string, unknown>,
  transport: Transport,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(answers)) {
    const file = value as StoredFile | undefined;
    out[name] =
      file !== null &&
      typeof file === "object" &&
      typeof file.fileId === "string" &&
      typeof file.kind === "string"
        ? { ...file, download: async () => (await transport.downloadFile(file.fileId)).data }
        : value;
  }
  return out;
}

/** What a reply to a question is: its text or its file. */
export function replyOf(text: string | undefined, message: Message | undefined): Reply {
  const file = fileOf(message);
  return { ...(text === undefined ? {} : { text }), ...(file === undefined ? {} : { file }) };
}
