import { escapeMarkdown } from "@kamihi/core";

/**
 * Builds Markdown from a template literal, escaping every interpolated value so user data shows
 * as typed and never becomes formatting or a link: ``md`Hello **${user.firstName}**!` ``.
 */
export function md(strings: TemplateStringsArray, ...values: unknown[]): string {
  let out = strings[0] ?? "";
  for (const [index, value] of values.entries())
    out += escapeMarkdown(value) + (strings[index + 1] ?? "");
  return out;
}

export { escapeMarkdown };
