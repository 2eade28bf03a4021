/**
 * What a valid project name, bot token, MongoDB URL and Telegram id look like. Each check
 * returns the problem as a sentence that says what to do, or `undefined` when the value is
 * fine, so the same rules serve the library, the flags and the live prompts.
 */
import { isBuiltin } from "node:module";

/** Bot tokens from @BotFather: the bot id, a colon, then 35 URL-safe characters. */
export const TOKEN_PATTERN = /^\d+:[A-Za-z0-9_-]{35}$/;

const NAME_PATTERN = /^[a-z0-9][a-z0-9._-]*$/;
const MAX_NAME_LENGTH = 214;

/** A name that follows the rules, made from one that does not (`My Bot` → `my-bot`). */
export function suggestProjectName(name: string): string {
  const suggestion = name
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, "-")
    .replace(/^[._-]+|[._-]+$/g, "")
    .slice(0, MAX_NAME_LENGTH);
  return suggestion === "" || suggestion === "kamihi" ? "my-kamihi-bot" : suggestion;
}

/**
 * The project name is both the folder and the package name, so it must be a plain folder name
 * that npm accepts for a new package: lower case, URL-safe, not a Node built-in.
 */
export function checkProjectName(name: string): string | undefined {
  const shown = JSON.stringify(name);
  const expected = `Use lower-case letters, digits, "-", "_" and ".", e.g. "${suggestProjectName(name)}".`;
  if (name.trim() === "") {
    return 'The project name is empty: give a folder and package name such as "my-kamihi-bot".';
  }
  if (/^@[^/\\]+\/[^/\\]+$/.test(name)) {
    return `${shown} is a scoped package name, but the project name is also its folder's name. Use a plain name such as "${suggestProjectName(name.split("/")[1] ?? "")}", and rename the package in package.json later if you like.`;
  }
  if (/[/\\]/.test(name) || name === "." || name === "..") {
    return `${shown} is a path, not a project name: give the folder's name only, and choose where it is created with --dir <parent>.`;
  }
  if (name.length > MAX_NAME_LENGTH) {
    return `The project name is ${name.length} characters long; npm allows at most ${MAX_NAME_LENGTH}. ${expected}`;
  }
  if (!NAME_PATTERN.test(name)) {
    const problems: string[] = [];
    if (/[A-Z]/.test(name)) problems.push("upper-case letters");
    if (/\s/.test(name)) problems.push("spaces");
    if (/^[._-]/.test(name)) problems.push(`a leading "${name[0]}"`);
    if (/[^A-Za-z0-9._\s-]/.test(name)) problems.push("characters npm does not allow");
    const reason = problems.length === 0 ? "" : ` (it has ${problems.join(" and ")})`;
    return `${shown} is not a valid project name${reason}. ${expected}`;
  }
  if (name === "kamihi") {
    return `"kamihi" is the framework's own package name, and a package cannot depend on itself. ${expected}`;
  }
  if (name === "node_modules" || name === "favicon.ico" || isBuiltin(name)) {
    return `${shown} is a name npm reserves. ${expected}`;
  }
  return undefined;
}

/** The token is a secret: the problem never repeats it. */
export function checkToken(token: string): string | undefined {
  if (TOKEN_PATTERN.test(token)) return undefined;
  return "The bot token does not look like one from @BotFather: expected digits, a colon, then 35 letters, digits, - or _ (such as 123456789:AAE…). Copy it again from @BotFather, or leave it out and set KAMIHI_TOKEN in .env later.";
}

/** Only the scheme is shown back: the rest of the URL may hold a password. */
export function checkMongoUrl(url: string): string | undefined {
  const expected =
    "expected a MongoDB connection string such as mongodb://localhost:27017 or mongodb+srv://user:password@cluster.example.net";
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(url)?.[1];
  if (scheme === undefined) return `The MongoDB URL has no scheme: ${expected}.`;
  if (scheme !== "mongodb" && scheme !== "mongodb+srv") {
    return `The MongoDB URL starts with "${scheme}:": ${expected}.`;
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are the point
  if (/[\s\u0000-\u001f\u007f]/.test(url)) {
    return `The MongoDB URL contains spaces or control characters: ${expected} (percent-encode special characters in the user name and password).`;
  }
  let host = "";
  try {
    host = new URL(url).host;
  } catch {
    // an unparseable URL has no host: reported below
  }
  if (host === "") return `The MongoDB URL has no host: ${expected}.`;
  return undefined;
}

/** A Telegram user id as the library takes it: a positive whole number. */
export function checkAdminId(id: number): string | undefined {
  if (Number.isSafeInteger(id) && id > 0) return undefined;
  return `The admin's Telegram id must be a positive whole number such as 123456789, got ${String(id)}. Message @userinfobot on Telegram to learn yours.`;
}

/** A Telegram user id as typed on the command line or in a prompt: digits only. */
export function checkAdminIdText(text: string): string | undefined {
  if (!/^\d+$/.test(text.trim())) {
    return `The admin's Telegram id must be digits only, such as 123456789, got ${JSON.stringify(text)}. Message @userinfobot on Telegram to learn yours.`;
  }
  return checkAdminId(Number(text.trim()));
}
