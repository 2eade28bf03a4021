/** Telegram's rule for bot commands: 1–32 characters of `a-z`, `0-9` and `_`. */
export const COMMAND_PATTERN = /^[a-z0-9_]{1,32}$/;

/**
 * Checks a command name against Telegram's rules. Returns `null` when it is valid, otherwise
 * a sentence saying what is wrong and how to fix it (shown next to the file that declared it).
 */
export function checkCommandName(name: string): string | null {
  if (name.length === 0)
    return "a command cannot be empty; use 1 to 32 characters of a-z, 0-9 and _";
  if (name.startsWith("/")) {
    return `write the command without the leading slash: "${name.slice(1)}"`;
  }
  if (name.length > 32) {
    return `"${name}" has ${name.length} characters; Telegram allows at most 32`;
  }
  if (name !== name.toLowerCase() && COMMAND_PATTERN.test(name.toLowerCase())) {
    return `"${name}" has upper-case letters; Telegram commands are lower case: "${name.toLowerCase()}"`;
  }
  if (!COMMAND_PATTERN.test(name)) {
    const bad = [...new Set([...name].filter((c) => !/[a-z0-9_]/.test(c)))].join("");
    return `"${name}" contains ${JSON.stringify(bad)}; use only a-z, 0-9 and _`;
  }
  return null;
}
