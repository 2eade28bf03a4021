/**
 * The validated settings of a bot. This interface is empty here on purpose: `@kamihi/config`
 * fills it through declaration merging with the type inferred from its schema, so the type
 * can never drift from what is validated. Packages that need a few settings take them as
 * options instead of reading this object.
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled by @kamihi/config through declaration merging
export interface Settings {}
