/** The escaping contract lives in `@kamihi/core`; re-exported here for existing imports. */
export { escapeMarkdown } from "@kamihi/core";
