import { EMBEDDED_DB_URL, type ProjectFile, type ProjectSpec } from "./project.js";

/**
 * `kamihi.yaml`: the settings a new bot starts with, each explained. Secrets (the token, a
 * MongoDB URL that may hold a password) never go here: they are in `.env`.
 */
export function kamihiYamlFile(spec: ProjectSpec): ProjectFile {
  const db =
    spec.mongodbUrl === undefined
      ? [
          "db:",
          "  # Where the bot keeps its users, roles, conversations and jobs. memory:// is the embedded",
          "  # store: no database to install; the data is saved in the file below.",
          "  # To use MongoDB instead, delete this db: section and set KAMIHI_DB__URL in .env: a value",
          "  # in this file wins over the environment (docker-compose.yml sets KAMIHI_DB__URL for you).",
          `  url: ${EMBEDDED_DB_URL}`,
        ]
      : [
          "# db.url: the MongoDB URL is in .env as KAMIHI_DB__URL. It may hold a password, so it stays",
          "# out of this file, which is meant to be committed.",
        ];
  const admins =
    spec.adminId === undefined
      ? [
          "  # Telegram ids made admins when the bot starts (admins may run every action). Message",
          "  # @userinfobot on Telegram to learn yours, or run: kamihi user add <id> --admin",
          "  # admins: [123456789]",
        ]
      : [
          "  # Telegram ids made admins when the bot starts (admins may run every action).",
          `  admins: [${spec.adminId}]`,
        ];
  const lines = [
    `# Settings of ${spec.name}. Every key is optional; Kamihi's defaults fill in the rest.`,
    "#",
    "# Secrets do not belong here: the bot token from @BotFather goes in .env as KAMIHI_TOKEN=…",
    "# (see .env.example). Any setting can also come from the environment as KAMIHI_<KEY>, with",
    "# __ between levels: db.url is KAMIHI_DB__URL. Values in this file win over the environment.",
    "",
    "# The IANA time zone of schedules and of dates shown to users, e.g. Europe/Madrid.",
    "timezone: UTC",
    "",
    ...db,
    "",
    "users:",
    "  # Who may use the bot:",
    "  #   closed   - only users an admin adds (kamihi user add <id>)",
    "  #   open     - anyone who writes to the bot becomes a user",
    "  #   approval - anyone may ask to join; an admin approves or denies the request",
    "  # Public actions, such as /start, answer everyone in every mode.",
    "  registration: closed",
    ...admins,
    "",
  ];
  return { path: "kamihi.yaml", content: lines.join("\n") };
}

/** `.env`: the secrets given when creating the project, readable by the owner only. */
export function dotenvFile(spec: ProjectSpec): ProjectFile | undefined {
  if (spec.token === undefined && spec.mongodbUrl === undefined) return undefined;
  const lines = [
    "# Secrets of this bot, read by Kamihi at start-up (real environment variables win).",
    "# Never commit this file: .gitignore and .dockerignore leave it out.",
  ];
  if (spec.token !== undefined) lines.push(`KAMIHI_TOKEN=${dotenvValue(spec.token)}`);
  if (spec.mongodbUrl !== undefined) lines.push(`KAMIHI_DB__URL=${dotenvValue(spec.mongodbUrl)}`);
  return { path: ".env", content: `${lines.join("\n")}\n`, mode: 0o600 };
}

/** `.env.example`: the variables `.env` may set, without values; safe to commit. */
export function dotenvExampleFile(spec: ProjectSpec): ProjectFile {
  const db =
    spec.mongodbUrl === undefined
      ? [
          "# MongoDB instead of the embedded store (then delete the db: section of kamihi.yaml):",
          "# KAMIHI_DB__URL=mongodb://localhost:27017",
        ]
      : ["# The MongoDB connection string.", "KAMIHI_DB__URL=mongodb://localhost:27017"];
  const lines = [
    "# Copy this file to .env and fill it in. Kamihi reads .env at start-up.",
    "",
    "# The bot token from @BotFather.",
    "KAMIHI_TOKEN=",
    "",
    ...db,
    "",
  ];
  return { path: ".env.example", content: lines.join("\n") };
}

/**
 * A value as dotenv reads it back unchanged: bare when it has no spaces, quotes or `#` (which
 * would start a comment), else in the first kind of quotes it does not contain.
 */
function dotenvValue(value: string): string {
  if (/^[^\s#"'`]*$/.test(value)) return value;
  const quote = ["'", '"', "`"].find((q) => !value.includes(q)) ?? "'";
  return `${quote}${value}${quote}`;
}
