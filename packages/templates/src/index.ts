/**
 * Kamihi's template engine over Eta: discovery per action, Markdown-safe interpolation, shared
 * partials and layouts, hot reload, and errors that name the file and line.
 *
 * @packageDocumentation
 */

export { createTemplateEngine } from "./engine.js";
export type { EtaTemplateEngine, TemplateEngineOptions } from "./engine.js";
export { escapeMarkdown } from "./escape.js";
