/** A command as sent: `/name@bot args`. */
export interface ParsedCommand {
  /** Lower-cased, without `/`. */
  name: string;
  /** The bot it is addressed to (`@bot`), when named. */
  bot?: string;
  /** The text after the command, trimmed. */
  args: string;
}

const COMMAND = /^\/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]+))?(?:\s+([\s\S]*))?$/;

/** `/name@bot args` → its parts; `undefined` when the text is not a command. */
export function parseCommand(text: string | undefined): ParsedCommand | undefined {
  if (text === undefined) return undefined;
  const match = COMMAND.exec(text.trim());
  if (match === null) return undefined;
  return {
    name: (match[1] as string).toLowerCase(),
    ...(match[2] === undefined ? {} : { bot: match[2] }),
    args: (match[3] ?? "").trim(),
  };
}
