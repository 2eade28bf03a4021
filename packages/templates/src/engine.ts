import { existsSync, type FSWatcher, readdirSync, statSync, watch } from "node:fs";
import { isAbsolute, join, relative, resolve, sep } from "node:path";
import {
  KamihiError,
  type Logger,
  silentLogger,
  type TemplateEngine,
  type TemplateSet,
} from "@kamihi/core";
import { Eta, EtaError, EtaFileResolutionError, EtaParseError, EtaRuntimeError } from "eta";
import { escapeMarkdown } from "./escape.js";

const EXTENSION = ".eta";

/** Options of {@link createTemplateEngine}. */
export interface TemplateEngineOptions {
  /** The project root; template paths in errors are shown relative to it. */
  root: string;
  /** Shared partials and layouts, relative to `root`. Default: `templates`. */
  sharedDir?: string;
  /** Reload templates when their files change (dev mode). Default: `false`. */
  watch?: boolean;
  logger?: Logger;
}

/** The Eta engine: the {@link TemplateEngine} port, with its `close` always present. */
export interface EtaTemplateEngine extends TemplateEngine {
  /**
   * The port's `close`, called once when the bot stops: stops watching files (when `watch`
   * is on). Calling it again does nothing.
   */
  close(): void;
}

/**
 * Eta templates for actions: an action's folder holds its templates (`start.md.eta` is the
 * `start` action's default), shared partials and layouts live in `templates/`. Values written
 * with `<%= %>` are escaped for Markdown so user data cannot inject formatting; `<%~ %>` is the
 * explicit raw output.
 */
export function createTemplateEngine(options: TemplateEngineOptions): EtaTemplateEngine {
  const root = resolve(options.root);
  const shared = resolve(root, options.sharedDir ?? "templates");
  const log = (options.logger ?? silentLogger).child({ component: "templates" });
  const listings = new Map<string, string[]>();
  const watchers: FSWatcher[] = [];

  const eta = new Eta({
    views: root,
    cache: true,
    debug: true,
    autoEscape: true,
    escapeFunction: escapeMarkdown,
    autoTrim: [false, "nl"],
  });
  // Includes and layouts resolve next to the including file first, then in templates/.
  eta.resolvePath = function resolveTemplate(template, resolveOptions) {
    const file = template.endsWith(EXTENSION) ? template : `${template}${EXTENSION}`;
    const base = resolveOptions?.filepath;
    const candidates = isAbsolute(file)
      ? [file]
      : [
          ...(base === undefined ? [] : [resolve(base, "..", file)]),
          resolve(shared, file),
          resolve(root, file),
        ];
    for (const candidate of candidates) {
      if (!isInside(root, candidate)) continue;
      if (existsSync(candidate)) return candidate;
    }
    throw new EtaFileResolutionError(
      `Template "${template}" not found; looked in ${candidates.map((c) => relative(root, c)).join(", ")}`,
    );
  };

  function reload() {
    eta.templatesSync.reset();
    eta.templatesAsync.reset();
    eta.filepathCache = {};
    listings.clear();
  }

  if (options.watch) {
    for (const dir of [root]) {
      try {
        const watcher = watch(dir, { recursive: true }, (_event, file) => {
          if (file === null || !String(file).endsWith(EXTENSION)) return;
          log.debug({ file }, "template changed; reloading");
          reload();
        });
        watcher.on("error", (error) => log.warn({ err: error }, "template watcher failed"));
        watchers.push(watcher);
      } catch (error) {
        log.warn({ err: error, dir }, "cannot watch templates; changes need a restart");
      }
    }
  }

  function list(dir: string): string[] {
    let names = listings.get(dir);
    if (names === undefined) {
      names = existsSync(dir) ? walk(dir, dir).sort() : [];
      listings.set(dir, names);
    }
    return names;
  }

  return {
    forAction(actionDir: string): TemplateSet {
      const dir = resolve(root, actionDir);
      const names = () => list(dir);
      return {
        names,
        has: (name) => names().includes(normalize(name)),
        async render(name, data = {}) {
          const wanted = normalize(name);
          if (!names().includes(wanted)) {
            const available = names();
            throw new KamihiError(
              "KAMIHI_TEMPLATE_NOT_FOUND",
              `No template "${wanted}" in ${display(root, dir)}; ${available.length === 0 ? "the folder has no .eta files" : `available: ${available.join(", ")}`}. Create ${display(root, join(dir, `${wanted}${EXTENSION}`))}.`,
              { details: { name: wanted, folder: display(root, dir), available } },
            );
          }
          const file = join(dir, `${wanted}${EXTENSION}`);
          try {
            return await eta.renderAsync(relative(root, file), data);
          } catch (error) {
            throw renderError(root, file, error);
          }
        },
      };
    },
    async reload() {
      reload();
    },
    close() {
      for (const watcher of watchers.splice(0)) watcher.close();
    },
  };
}

/** `start.md`, `start.md.eta` and `./start.md` all name the same template. */
function normalize(name: string): string {
  const clean = name.replace(/^\.\//, "").split(sep).join("/");
  return clean.endsWith(EXTENSION) ? clean.slice(0, -EXTENSION.length) : clean;
}

function walk(base: string, dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...walk(base, path));
    else if (entry.name.endsWith(EXTENSION) && statSync(path).isFile()) {
      found.push(relative(base, path).split(sep).join("/").slice(0, -EXTENSION.length));
    }
  }
  return found;
}

function isInside(parent: string, path: string): boolean {
  const rel = relative(parent, path);
  return rel !== "" && !rel.startsWith("..") && !isAbsolute(rel);
}

function display(root: string, path: string): string {
  const rel = relative(root, path);
  return rel === "" ? "." : rel.split(sep).join("/");
}

/** A render failure that names the file and line, as Eta reports them. */
function renderError(root: string, file: string, error: unknown): KamihiError {
  const where = display(root, file);
  if (error instanceof EtaParseError && !/Bad template syntax/.test(error.message)) {
    const position = /at line (\d+) col (\d+)/.exec(error.message);
    const reason = error.message.split(" at line")[0] ?? error.message;
    return new KamihiError(
      "KAMIHI_TEMPLATE_RENDER_FAILED",
      `${where}${position ? `:${position[1]}:${position[2]}` : ""}: template syntax error: ${reason}`,
      {
        cause: error,
        details: { file: where, ...(position ? { line: Number(position[1]) } : {}) },
      },
    );
  }
  if (error instanceof EtaError && /Bad template syntax/.test(error.message)) {
    // The JavaScript inside the tags does not compile; Eta's message carries the whole
    // compiled function, so keep only the reason.
    const reason =
      error.message.split("\n").find((line) => /Error|Unexpected|missing/i.test(line)) ??
      "invalid JavaScript";
    return new KamihiError(
      "KAMIHI_TEMPLATE_RENDER_FAILED",
      `${where}: template syntax error: ${reason.trim()} (check that every "<% {" has its "<% } %>")`,
      { cause: error, details: { file: where } },
    );
  }
  if (error instanceof EtaRuntimeError) {
    // Eta's message: "<path>:<line>\n<snippet>\n\n<reason>".
    const [head = "", ...rest] = error.message.split("\n");
    const line = /:(\d+)$/.exec(head)?.[1];
    const fileShown = display(root, head.replace(/:\d+$/, "")) || where;
    const reason = rest.filter((l) => l.trim() !== "" && !/^\s*(>>)?\s*\d+\|/.test(l)).join(" ");
    return new KamihiError(
      "KAMIHI_TEMPLATE_RENDER_FAILED",
      `${fileShown}${line ? `:${line}` : ""}: ${reason}`,
      { cause: error, details: { file: fileShown, ...(line ? { line: Number(line) } : {}) } },
    );
  }
  if (error instanceof EtaError) {
    return new KamihiError("KAMIHI_TEMPLATE_RENDER_FAILED", `${where}: ${error.message}`, {
      cause: error,
      details: { file: where },
    });
  }
  return new KamihiError(
    "KAMIHI_TEMPLATE_RENDER_FAILED",
    `${where}: ${error instanceof Error ? error.message : String(error)}`,
    { cause: error, details: { file: where } },
  );
}
