/**
 * The Markdown escaping contract every Kamihi piece shares: text that went through
 * {@link escapeMarkdown} shows exactly as written once the transport renders Kamihi's Markdown,
 * whatever it contains. Template engines escape interpolated values with it (unless the
 * template asks for raw output), the runtime escapes command names and descriptions with it,
 * and a custom template engine or transport keeps the same promise by using it.
 */
/**
 * Escapes a value for Markdown so that it shows as written: every ASCII punctuation character
 * gets a backslash (CommonMark's escape), so `*bold*` typed by a user stays `*bold*` and never
 * becomes formatting, a link or a list; leading whitespace on any line becomes no-break spaces, so
 * it can never start a code block. `null` and `undefined` render as nothing.
 */
export function escapeMarkdown(value: unknown): string {
  if (value === null || value === undefined) return "";
  const text = typeof value === "string" ? value : String(value);
  return (
    text
      .replace(/[!-/:-@[-`{-~]/g, "\\$&")
      // Leading whitespace of any line (spaces and tabs mixed) could make an indented code
      // block once the template adds its own indent: no-break spaces keep the look, not the meaning.
      .replace(/^[ \t]+/gm, (indent) => indent.replace(/\t/g, "    ").replace(/ /g, "\u00a0"))
  );
}
