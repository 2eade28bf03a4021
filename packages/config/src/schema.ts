import { isIP } from "node:net";
import * as v from "valibot";

// Every message starts with "expected …" so an error reads
// `web.port: expected an integer from 1 to 65535, got "abc" (from KAMIHI_WEB__PORT)`.

function integer(min: number, max = Number.MAX_SAFE_INTEGER) {
  const message =
    max === Number.MAX_SAFE_INTEGER
      ? `expected an integer of at least ${min}`
      : `expected an integer from ${min} to ${max}`;
  return v.pipe(
    v.number(message),
    v.integer(message),
    v.minValue(min, message),
    v.maxValue(max, message),
  );
}

const flag = v.boolean("expected true or false");

function text(what = "a non-empty text") {
  const message = `expected ${what}`;
  return v.pipe(v.string(message), v.nonEmpty(message));
}

function oneOf<const T extends readonly [string, ...string[]]>(options: T) {
  return v.picklist(options, `expected one of ${options.map((o) => JSON.stringify(o)).join(", ")}`);
}

function urlWithScheme(schemes: readonly string[], what: string) {
  const message = `expected ${what}`;
  return v.pipe(
    v.string(message),
    v.check((value) => {
      try {
        return schemes.includes(new URL(value).protocol);
      } catch {
        return false;
      }
    }, message),
  );
}

const httpUrl = urlWithScheme(["http:", "https:"], "an http:// or https:// URL");

/** A group of settings; absent means "all defaults" (every entry of a group is optional). */
function group<const E extends v.ObjectEntries>(entries: E) {
  const schema = v.object(entries, "expected a group of settings (an object)");
  return v.optional(schema, () => ({}) as v.InferInput<typeof schema>);
}

const port = integer(1, 65535);

const TELEGRAM_ID = "expected a Telegram user id (a positive integer)";

/** A Telegram user id; digits in a text are accepted too (lists from the environment). */
const telegramId = v.pipe(
  v.union(
    [v.number(TELEGRAM_ID), v.pipe(v.string(TELEGRAM_ID), v.regex(/^\d+$/, TELEGRAM_ID))],
    TELEGRAM_ID,
  ),
  v.transform(Number),
  v.integer(TELEGRAM_ID),
  v.minValue(1, TELEGRAM_ID),
);

const PROXY =
  "expected a list of proxy addresses: IPs, CIDR ranges (10.0.0.0/8) or loopback, linklocal, uniquelocal";

/** One trusted proxy, as Fastify's trustProxy (proxy-addr) reads it. */
function isProxyAddress(value: string): boolean {
  if (["loopback", "linklocal", "uniquelocal"].includes(value)) return true;
  const [address = "", bits, ...rest] = value.split("/");
  const version = isIP(address);
  if (version === 0 || rest.length > 0) return false;
  if (bits === undefined) return true;
  const max = version === 4 ? 32 : 128;
  return /^\d+$/.test(bits) && Number(bits) <= max;
}

const logLevel = oneOf(["trace", "debug", "info", "warn", "error", "fatal", "silent"]);

/** Telegram bot tokens: the bot id, a colon, then 35 URL-safe characters. */
export const TOKEN_PATTERN = /^\d+:[A-Za-z0-9_-]{35}$/;

function isTimeZone(value: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone: value });
    return true;
  } catch {
    return false;
  }
}

/**
 * Every setting Kamihi reads, with its default. camelCase in files and code;
 * `KAMIHI_SCREAMING_SNAKE` with `__` for nesting in the environment.
 */
export const settingsSchema = v.object({
  /** The bot token from @BotFather. Secret. */
  token: v.optional(
    v.pipe(
      v.string("expected a bot token from @BotFather"),
      v.regex(
        TOKEN_PATTERN,
        "expected a bot token from @BotFather: digits, a colon, then 35 letters, digits, - or _",
      ),
    ),
  ),
  /** IANA time zone for schedules and dates shown to users. */
  timezone: v.optional(
    v.pipe(
      v.string("expected an IANA time zone such as UTC or Europe/Madrid"),
      v.check(isTimeZone, "expected an IANA time zone such as UTC or Europe/Madrid"),
    ),
    "UTC",
  ),
  db: group({
    /** `mongodb://`, `mongodb+srv://`, or `memory://` for the embedded store. */
    url: v.optional(
      urlWithScheme(
        ["mongodb:", "mongodb+srv:", "memory:"],
        "a mongodb://, mongodb+srv:// or memory:// URL",
      ),
      "mongodb://localhost:27017",
    ),
    name: v.optional(
      v.pipe(
        text('a database name (1 to 63 characters, none of / \\ . " $ * < > : | ? or space)'),
        v.regex(
          /^[^/\\. "$*<>:|?]{1,63}$/,
          'expected a database name (1 to 63 characters, none of / \\ . " $ * < > : | ? or space)',
        ),
      ),
      "kamihi",
    ),
  }),
  tg: group({
    /** Bot API root: Telegram's, a local Bot API server, or the emulator. */
    apiRoot: v.optional(httpUrl, "https://api.telegram.org"),
    mode: v.optional(oneOf(["polling", "webhook"]), "polling"),
    webhook: group({
      /** The public https URL Telegram posts updates to. Required in webhook mode. */
      url: v.optional(urlWithScheme(["https:"], "an https:// URL Telegram can reach")),
      path: v.optional(
        v.pipe(
          v.string("expected a URL path starting with /"),
          v.startsWith("/", "expected a URL path starting with /"),
        ),
        "/telegram/webhook",
      ),
      /** Checked against `X-Telegram-Bot-Api-Secret-Token`. Secret. */
      secretToken: v.optional(
        v.pipe(
          v.string("expected 1 to 256 characters of A-Z, a-z, 0-9, _ and -"),
          v.regex(
            /^[A-Za-z0-9_-]{1,256}$/,
            "expected 1 to 256 characters of A-Z, a-z, 0-9, _ and -",
          ),
        ),
      ),
      host: v.optional(text("a host name or IP address"), "0.0.0.0"),
      port: v.optional(port, 8443),
    }),
  }),
  web: group({
    /** Serve the web admin beside the bot. */
    enabled: v.optional(flag, true),
    host: v.optional(text("a host name or IP address"), "127.0.0.1"),
    port: v.optional(port, 4242),
    /** The URL people use to reach the admin (login links are built from it). */
    publicUrl: v.optional(httpUrl),
    /**
     * Enables password sign-in for admins (beside /admin links): a hash made with
     * `hashPassword()` from kamihi, `scrypt$<salt>$<hash>`. Secret.
     */
    passwordHash: v.optional(
      v.pipe(
        v.string("expected a password hash made by hashPassword(): scrypt$<salt>$<hash>"),
        v.regex(
          /^scrypt\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]+$/,
          "expected a password hash made by hashPassword(): scrypt$<salt>$<hash>",
        ),
      ),
    ),
    /**
     * Proxies in front of the admin whose X-Forwarded-For is believed (the client's address
     * drives the sign-in rate limit and the audit log). Empty: the connecting address counts.
     */
    trustProxy: v.optional(
      v.array(v.pipe(v.string(PROXY), v.check(isProxyAddress, PROXY)), PROXY),
      [],
    ),
    /** Signs admin session cookies. Secret. */
    sessionSecret: v.optional(
      v.pipe(
        v.string("expected a random secret of at least 32 characters"),
        v.minLength(32, "expected a random secret of at least 32 characters"),
      ),
    ),
  }),
  responses: group({
    /** Answer unknown commands and plain text with `defaultMessage`. */
    defaultEnabled: v.optional(flag, true),
    defaultMessage: v.optional(
      text(),
      "Sorry, I don't know what to do with that. Send /help to see what I can do.",
    ),
    errorMessage: v.optional(text(), "Something went wrong. Please try again later."),
    /** Sent when a user may not run an action; empty to stay silent. */
    unauthorizedMessage: v.optional(
      v.string("expected a text (empty to stay silent)"),
      "You are not allowed to do that.",
    ),
    cancelCommand: v.optional(
      v.pipe(
        v.string("expected a command name: 1 to 32 characters of a-z, 0-9 and _"),
        v.regex(
          /^[a-z0-9_]{1,32}$/,
          "expected a command name: 1 to 32 characters of a-z, 0-9 and _",
        ),
      ),
      "cancel",
    ),
  }),
  users: group({
    /** `closed`: only users an admin adds; `open`: anyone; `approval`: admins approve. */
    registration: v.optional(oneOf(["closed", "open", "approval"]), "closed"),
    /** Roles given to users who register by themselves. */
    defaultRoles: v.optional(v.array(text("a role name"), "expected a list of role names"), []),
    /** Telegram ids made admins (and created if missing) when the bot starts: the first admins. */
    admins: v.optional(v.array(telegramId, "expected a list of Telegram user ids"), []),
    /**
     * Changes made elsewhere (the CLI, the admin, another instance) reach this instance's cache
     * within this many seconds.
     */
    cacheSeconds: v.optional(
      v.pipe(
        v.number("expected a number of seconds"),
        v.minValue(0.05, "expected at least 0.05 seconds"),
        v.maxValue(3600, "expected at most 3600 seconds"),
      ),
      2,
    ),
    /** Told to a user whose registration awaits approval. */
    pendingMessage: v.optional(
      text(),
      "Thanks! Your request was sent to the admins; I'll tell you when it is approved.",
    ),
    /** Told to a user when an admin approves them. */
    approvedMessage: v.optional(
      text(),
      "Welcome! An admin approved your access. Send /help to start.",
    ),
    /** Told to a user when an admin denies them; empty to stay silent. */
    deniedMessage: v.optional(
      v.string("expected a text (empty to stay silent)"),
      "Sorry, your request was not approved.",
    ),
  }),
  log: group({
    level: v.optional(logLevel, "info"),
    /** `auto`: pretty on a terminal, JSON otherwise. */
    format: v.optional(oneOf(["pretty", "json", "auto"]), "auto"),
    file: group({
      enabled: v.optional(flag, false),
      path: v.optional(text("a file path"), "logs/kamihi.log"),
      level: v.optional(logLevel, "debug"),
      /** Rotate when the file reaches this size, e.g. `10m`. */
      maxSize: v.optional(
        v.pipe(
          v.string("expected a size such as 500k, 10m or 1g"),
          v.regex(/^\d+[kmg]?$/i, "expected a size such as 500k, 10m or 1g"),
        ),
        "10m",
      ),
      maxFiles: v.optional(integer(1, 1000), 5),
    }),
    notify: group({
      /** Send log lines at `level` or above to admins on Telegram. */
      enabled: v.optional(flag, false),
      level: v.optional(logLevel, "error"),
    }),
  }),
  updates: group({
    /**
     * Updates handled at once. More wait at Telegram (polling fetches no further; a webhook
     * answers later), so a burst is taken as fast as it is handled and memory stays bounded.
     */
    maxInFlight: v.optional(integer(1, 10_000), 100),
    /** Handled updates are remembered this long, so one Telegram delivers again runs once. */
    rememberHours: v.optional(integer(1, 168), 24),
    /**
     * An instance holds an update it took for this long, renewing while it works on it; if the
     * instance dies, the next start (or another instance) takes the update over after that.
     */
    leaseSeconds: v.optional(integer(2, 3600), 30),
    /**
     * On stop, updates in progress get this long to finish; the rest stay in the store and run
     * at the next start (or on another instance).
     */
    drainSeconds: v.optional(integer(0, 3600), 8),
  }),
  actions: group({
    /**
     * An action still running after this long is given up on: the user gets
     * `responses.errorMessage`, the chat moves on, and the action's `signal` is aborted.
     */
    timeoutSeconds: v.optional(integer(1, 86_400), 60),
  }),
  questions: group({
    /** A conversation left unanswered this long is dropped. */
    timeoutSeconds: v.optional(integer(1), 600),
  }),
  pages: group({
    /** Paged results stay browsable this many days. */
    expirationDays: v.optional(integer(1), 7),
  }),
  jobs: group({
    enabled: v.optional(flag, false),
  }),
  limits: group({
    /** Telegram: about one message per second in a chat. */
    perChatPerSecond: v.optional(integer(1), 1),
    /** Telegram: at most 20 messages per minute in a group. */
    perGroupPerMinute: v.optional(integer(1), 20),
    /** Telegram: about 30 messages per second overall. */
    globalPerSecond: v.optional(integer(1), 30),
  }),
});

/** The validated settings: every key present, defaults applied. */
export type ValidatedSettings = v.InferOutput<typeof settingsSchema>;

type DeepPartial<T> = T extends readonly unknown[]
  ? T
  : T extends object
    ? { [K in keyof T]?: DeepPartial<T[K]> }
    : T;

/** What a config file or `overrides` may hold: any subset of the settings. */
export type SettingsInput = DeepPartial<v.InferInput<typeof settingsSchema>>;

declare module "@kamihi/core" {
  /** The validated settings, inferred from `@kamihi/config`'s schema. */
  interface Settings extends ValidatedSettings {}
}

/** Whether the setting at `path` holds a secret that must never be shown. */
export function isSecretPath(path: string): boolean {
  const last = path.split(".").at(-1) ?? "";
  return /token|secret|password|passphrase|credential|apikey|api_key/i.test(last);
}

/** Settings whose value is a URL that may carry credentials. */
export function isUrlPath(path: string): boolean {
  return /url$/i.test(path.split(".").at(-1) ?? "") || path === "tg.apiRoot";
}
