import { runTemplateEngineConformance } from "../src/conformance.js";
import { createTemplateEngine } from "../src/index.js";

// Watching on, as in `kamihi dev`, so the suite checks that close() releases the file watcher.
runTemplateEngineConformance({
  name: "Eta (createTemplateEngine)",
  create: (root) => createTemplateEngine({ root, watch: true }),
  syntax: {
    extension: "eta",
    escaped: (key) => `<%= it.${key} %>`,
    raw: (key) => `<%~ it.${key} %>`,
    partial: (name) => `<%~ include("${name}", it) %>`,
    broken: "<%= it.missing.deeper %>",
  },
});
