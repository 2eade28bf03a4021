/**
 * Every error code Kamihi raises, with the one-line meaning documented in `docs/errors.md`.
 * Codes are stable: callers branch on them, and a code is never reused for another meaning.
 */
export const errorCodes = {
  KAMIHI_CONFIG_INVALID: "A setting has a value that does not match what Kamihi expects.",
  KAMIHI_CONFIG_TOKEN_MISSING: "The bot token is not set, so the bot cannot reach Telegram.",
  KAMIHI_DB_UNREACHABLE: "The database did not answer within the start-up time limit.",
  KAMIHI_DB_AUTH_FAILED: "The database refused the credentials in db.url.",
  KAMIHI_DB_OPERATION_FAILED: "A database operation failed or timed out while the bot was running.",
  KAMIHI_DB_DUPLICATE_KEY: "A write would break a unique index.",
  KAMIHI_DB_INVALID_QUERY: "A query or update has a shape the store cannot run.",
  KAMIHI_DB_NOT_WRITABLE: "The embedded store's data file cannot be created or written.",
  KAMIHI_DB_LOCKED: "Another process has the embedded store's data file open.",
  KAMIHI_DB_UNREADABLE:
    "The embedded store's data file cannot be read, or is not a Kamihi data file.",
  KAMIHI_ACTION_INVALID_COMMAND: "An action declares a command Telegram would reject.",
  KAMIHI_ACTION_NOT_A_FUNCTION: "bot.action() was given something that is not a function.",
  KAMIHI_ACTION_DUPLICATE_COMMAND: "Two actions declare the same command.",
  KAMIHI_TG_REQUEST_FAILED:
    "A Bot API request failed: Telegram answered with an error, or could not be reached.",
  KAMIHI_TG_FILE_UNAVAILABLE:
    "Telegram has no downloadable copy of a file (it is over the Bot API's 20 MB limit).",
  KAMIHI_TG_BLOCKED:
    "The user blocked the bot, or the account is gone: messages cannot reach them.",
  KAMIHI_TG_CHAT_NOT_FOUND: "The chat does not exist or the bot is not in it.",
  KAMIHI_TG_UNAUTHORIZED:
    "The Bot API refused the bot token, or does not know it (a wrong token or tg.apiRoot).",
  KAMIHI_TG_WEBHOOK_UNAVAILABLE:
    "The webhook server could not start or be registered with Telegram.",
  KAMIHI_TEMPLATE_NOT_FOUND: "An action asked for a template that is not in its folder.",
  KAMIHI_TEMPLATE_RENDER_FAILED: "A template has a syntax error or failed while rendering.",
  KAMIHI_ACTION_INVALID_QUESTION: "An action declares a question Kamihi cannot ask.",
  KAMIHI_ACTION_LOAD_FAILED: "An action module could not be imported.",
  KAMIHI_ACTION_BAD_RESPONSE: "An action returned something that is not a response.",
  KAMIHI_BOT_RUNNING: "The bot is running; this can only be done before it starts.",
  KAMIHI_BOT_NOT_RUNNING: "The bot is not running yet.",
  KAMIHI_BOT_MIDDLEWARE_UNSUPPORTED:
    "bot.use() added middleware, but the transport given to the bot takes none.",
  KAMIHI_USER_NOT_FOUND: "No user has that Telegram id.",
  KAMIHI_USER_EXISTS: "A user with that Telegram id already exists.",
  KAMIHI_USER_INVALID: "User fields (or the project's custom user data) failed validation.",
  KAMIHI_USER_QUERY_INVALID: "A user listing was given a filter, cursor or count it cannot use.",
  KAMIHI_ROLE_NOT_FOUND: "No role has that name.",
  KAMIHI_ROLE_INVALID_NAME: "A role name is empty, too long or has characters a role cannot have.",
  KAMIHI_ROLE_EXISTS: "A role with that name already exists.",
  KAMIHI_PERMISSION_UNKNOWN_ACTION: "A permission names an action the bot does not have.",
  KAMIHI_CREATE_INVALID_OPTION:
    "create-kamihi was given an option it cannot use (a name, token, URL or admin id).",
  KAMIHI_CREATE_TARGET_EXISTS: "create-kamihi's target exists and is not an empty folder.",
  KAMIHI_CREATE_WRITE_FAILED: "create-kamihi could not write the new project's files.",
  KAMIHI_CREATE_INSTALL_FAILED:
    "Installing the new project's dependencies failed; its files are in place.",
  KAMIHI_CLI_CANCELLED: "An interactive prompt of the kamihi command was cancelled.",
  KAMIHI_CLI_USAGE: "A command line has a missing, unknown or invalid argument.",
  KAMIHI_WEB_UNAVAILABLE:
    "The web admin could not start (its port is taken, or the address is wrong).",
  KAMIHI_PACKAGE_MISSING:
    "A command or entry point needs an optional package that is not installed.",
  KAMIHI_INTERNAL_BUG: "Kamihi reached a state it should never reach; this is a bug to report.",
} as const;

/** A stable Kamihi error code, such as `KAMIHI_CONFIG_INVALID`. */
export type KamihiErrorCode = keyof typeof errorCodes;

/** Options accepted by {@link KamihiError}. */
export interface KamihiErrorOptions {
  /** The underlying error, kept for logs and debuggers. */
  cause?: unknown;
  /** Structured context (never secrets): the key, the file, the method, the chat… */
  details?: Readonly<Record<string, unknown>>;
}

/**
 * The one error class of Kamihi. `code` is stable and meant for `if`/`switch`; the message
 * says what went wrong and what to do next; `cause` keeps the original error.
 *
 * @example
 * ```ts
 * try { await store.connect(); }
 * catch (err) { if (isKamihiError(err, "KAMIHI_DB_UNREACHABLE")) { … } }
 * ```
 */
export class KamihiError<Code extends KamihiErrorCode = KamihiErrorCode> extends Error {
  override name = "KamihiError";
  /** The stable code of this error, e.g. `KAMIHI_DB_UNREACHABLE`. */
  readonly code: Code;
  /** Structured context for logs and tools; never holds secrets. */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: Code, message: string, options: KamihiErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details ?? {};
  }

  /** This code's entry in the error reference shipped with the repository. */
  get docs(): string {
    return `docs/errors.md#${this.code.toLowerCase()}`;
  }

  /** A plain object for structured logs (`code`, `message`, `details`). */
  toJSON(): { name: string; code: Code; message: string; details: Record<string, unknown> } {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      details: { ...this.details },
    };
  }
}

/**
 * Tells whether `value` is a {@link KamihiError}, optionally with a given code. Works across
 * copies of `@kamihi/core` in one process (it checks the shape, not the prototype).
 */
export function isKamihiError<Code extends KamihiErrorCode = KamihiErrorCode>(
  value: unknown,
  code?: Code,
): value is KamihiError<Code> {
  if (!(value instanceof Error)) return false;
  const candidate = value as { name?: unknown; code?: unknown };
  if (candidate.name !== "KamihiError" && candidate.name !== "KamihiValidationError") return false;
  if (typeof candidate.code !== "string") return false;
  return code === undefined || candidate.code === code;
}

/** One problem found while validating input: where, what was expected, what was received. */
export interface ValidationIssue {
  /** Dotted path of the offending value, e.g. `web.port`; empty for a whole file or input. */
  path: string;
  /** What is wrong, in words a user can act on, e.g. `expected an integer from 1 to 65535`. */
  message: string;
  /** A safe rendering of what was given, e.g. `"abc"` (a description only, for secrets). */
  received?: string;
  /** Where the value came from, e.g. `KAMIHI_WEB__PORT` or `kamihi.yaml:3`. */
  source?: string;
  /** A suggestion, e.g. `did you mean "web.port"?`. */
  hint?: string;
}

/**
 * A {@link KamihiError} that carries every {@link ValidationIssue} found, not only the first,
 * so one run shows everything to fix.
 */
export class KamihiValidationError<
  Code extends KamihiErrorCode = KamihiErrorCode,
> extends KamihiError<Code> {
  override name = "KamihiValidationError";
  /** Every problem found, in a stable order. */
  readonly issues: readonly ValidationIssue[];

  constructor(
    code: Code,
    summary: string,
    issues: readonly ValidationIssue[],
    options: KamihiErrorOptions = {},
  ) {
    super(code, formatValidationMessage(summary, issues), options);
    this.issues = issues;
  }
}

/**
 * Tells whether `value` is a {@link KamihiValidationError} (it carries `issues`), optionally
 * with a given code. Like {@link isKamihiError}, it checks the shape, not the prototype.
 */
export function isKamihiValidationError<Code extends KamihiErrorCode = KamihiErrorCode>(
  value: unknown,
  code?: Code,
): value is KamihiValidationError<Code> {
  return (
    isKamihiError(value, code) &&
    value.name === "KamihiValidationError" &&
    Array.isArray((value as { issues?: unknown }).issues)
  );
}

/**
 * Renders a summary and its issues as one readable message, one issue per line:
 * `web.port: expected an integer from 1 to 65535, got "abc" (from KAMIHI_WEB__PORT)`.
 */
export function formatValidationMessage(
  summary: string,
  issues: readonly ValidationIssue[],
): string {
  return [summary, ...issues.map((issue) => `  - ${formatValidationIssue(issue)}`)].join("\n");
}

/** Renders one issue on one line (see {@link formatValidationMessage}). */
export function formatValidationIssue(issue: ValidationIssue): string {
  let line: string;
  if (issue.path === "") {
    line = issue.source === undefined ? issue.message : `${issue.source}: ${issue.message}`;
  } else {
    line = `${issue.path}: ${issue.message}`;
    if (issue.received !== undefined) line += `, got ${issue.received}`;
    if (issue.source !== undefined) line += ` (from ${issue.source})`;
  }
  if (issue.hint !== undefined) line += `; ${issue.hint}`;
  return line;
}
