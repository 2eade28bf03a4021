/**
 * Escapes a value for Markdown so that it shows as written: every ASCII punctuation character
 * gets a backslash (CommonMark's escape), so `*bold*` typed by a user stays `*bold*` and never
 * becomes formatting, a link or a list; a line indented like a code block keeps its indent as
 * no-break spaces. `null` and `undefined` render as nothing.
 */
export function escapeMarkdown(value: unknown): string {
  if (value === null || value === undefined) return "";
  const text = typeof value === "string" ? value : String(value);
  return text
    .replace(/[!-/:-@[-`{-~]/g, "\\$&")
    .replace(/^[ \t]{4,}|^\t+/gm, (indent) =>
      indent.replace(/\t/g, "    ").replace(/ /g, "\u00a0"),
    );
}
