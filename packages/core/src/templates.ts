/** The templates available to one action: its own folder's files plus shared partials. */
export interface TemplateSet {
  /** Names that {@link TemplateSet.render} accepts, e.g. `["start.md", "details.md"]`. */
  names(): string[];
  /** Whether a template with this name exists. */
  has(name: string): boolean;
  /**
   * Renders a template. Interpolated values are escaped for Telegram Markdown unless the
   * template marks them raw; a missing name rejects with the names that do exist.
   */
  render(name: string, data?: Record<string, unknown>): Promise<string>;
}

/**
 * Finds and renders templates for actions. The default is Eta (`@kamihi/templates`).
 * Interpolated values are escaped with `escapeMarkdown` from `@kamihi/core` (the escaping
 * contract), unless a template marks them raw.
 */
export interface TemplateEngine {
  /** The templates of the action whose files live in `actionDir`. */
  forAction(actionDir: string): TemplateSet;
  /** Re-reads every template from disk (hot reload). */
  reload(): Promise<void>;
  /** Releases what the engine holds (file watchers in dev); called once when the bot stops. */
  close?(): void | Promise<void>;
}
