import { existsSync } from "node:fs";
import { relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { redactTokens, type ValidationIssue } from "@kamihi/core";
import { cosmiconfig, type Loader } from "cosmiconfig";
import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from "yaml";
import type { Layer } from "./sources.js";
import { forEachLeaf, isPlainObject } from "./sources.js";

/** Where the file search looks, in order, in the project root. */
export const configSearchPlaces = [
  "package.json",
  "kamihi.yaml",
  "kamihi.yml",
  "kamihi.json",
  ".kamihirc",
  ".kamihirc.json",
  ".kamihirc.yaml",
  ".kamihirc.yml",
  "kamihi.config.js",
  "kamihi.config.mjs",
  "kamihi.config.ts",
] as const;

/**
 * Loads JSON, reporting a syntax error by line and column only: the parser's own message can
 * quote the file's content, which may hold the token.
 */
const jsonLoader: Loader = (filepath, content) => {
  try {
    return JSON.parse(content) as unknown;
  } catch (error) {
    const position = Number(
      /at position (\d+)/.exec((error as Error).message)?.[1] ?? content.length,
    );
    const before = content.slice(0, position).split("\n");
    throw new YamlSyntaxError(
      "invalid JSON (check commas, quotes and brackets)",
      filepath,
      before.length,
      (before.at(-1)?.length ?? 0) + 1,
      "JSON syntax error",
    );
  }
};

/** A YAML or JSON syntax error, with the position the parser reported. */
class YamlSyntaxError extends Error {
  readonly filepath: string;
  readonly line: number;
  readonly column: number;
  readonly kind: string;

  constructor(
    message: string,
    filepath: string,
    line: number,
    column: number,
    kind = "YAML syntax error",
  ) {
    super(message);
    this.filepath = filepath;
    this.line = line;
    this.column = column;
    this.kind = kind;
  }
}

/**
 * Loads YAML with the line of every key, so a bad value can be reported as `kamihi.yaml:7`.
 * The lines are kept per file for the one load that asked for them.
 */
function yamlLoader(lines: Map<string, Map<string, number>>): Loader {
  return (filepath, content) => {
    const counter = new LineCounter();
    const doc = parseDocument(content, { lineCounter: counter, prettyErrors: false });
    const first = doc.errors[0];
    if (first !== undefined) {
      const pos = counter.linePos(first.pos[0]);
      const reason = first.message.split("\n")[0] ?? first.message;
      throw new YamlSyntaxError(
        reason.replace(/ at line \d+, column \d+:?$/, ""),
        filepath,
        pos.line,
        pos.col,
      );
    }
    const keyLines = new Map<string, number>();
    collectLines(doc.contents, [], keyLines, counter);
    lines.set(filepath, keyLines);
    return doc.toJS();
  };
}

function collectLines(
  node: Node | null,
  path: string[],
  out: Map<string, number>,
  counter: LineCounter,
) {
  if (!isMap(node)) return;
  for (const pair of node.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : undefined;
    if (key === undefined) continue;
    const keyPath = [...path, key];
    const range = isScalar(pair.key) ? pair.key.range : undefined;
    if (range) out.set(keyPath.join("."), counter.linePos(range[0]).line);
    const value = pair.value as Node | null;
    if (isMap(value)) collectLines(value, keyPath, out, counter);
    else if (isSeq(value)) continue;
  }
}

const loadTypeScript: Loader = async (filepath) => {
  // tsx compiles the file on the fly: a TypeScript config needs no build step and may use any
  // TypeScript syntax (Node's own type stripping takes only erasable syntax).
  const { tsImport } = await import("tsx/esm/api");
  const mod = (await tsImport(pathToFileURL(filepath).href, import.meta.url)) as Record<
    string,
    unknown
  >;
  // Outside a "type": "module" package the file is compiled as CommonJS, and its default
  // export arrives wrapped once more.
  let value: unknown = "default" in mod ? mod.default : mod;
  if (isPlainObject(value) && value.__esModule === true && "default" in value) {
    value = value.default;
  }
  // Module namespaces are frozen; hand over a plain object.
  return isPlainObject(value) ? { ...value } : value;
};

/** The file layer, or the problems that kept it from loading. */
export interface FileResult {
  layer: Layer;
  /** The file that was loaded, relative to the project root. */
  file?: string;
  issues: ValidationIssue[];
}

/**
 * Finds the config file (or loads `explicit`), parses it, and records the source of every
 * value. Missing explicit files, syntax errors and non-object contents become issues.
 */
export async function readFileLayer(
  cwd: string,
  explicit?: { path: string; namedBy: string },
): Promise<FileResult> {
  const layer: Layer = { values: {}, sources: new Map() };
  const lines = new Map<string, Map<string, number>>();
  const yaml = yamlLoader(lines);
  const explorer = cosmiconfig("kamihi", {
    searchPlaces: [...configSearchPlaces],
    searchStrategy: "none",
    cache: false,
    loaders: {
      ".yaml": yaml,
      ".yml": yaml,
      noExt: yaml,
      ".json": jsonLoader,
      ".ts": loadTypeScript,
    },
  });

  let found: { filepath: string; config: unknown; isEmpty?: boolean } | null;
  let filepath: string | undefined;
  try {
    if (explicit !== undefined) {
      filepath = resolve(cwd, explicit.path);
      if (!existsSync(filepath)) {
        return {
          layer,
          issues: [
            {
              path: "",
              source: explicit.namedBy,
              message: `names the config file ${explicit.path}, which does not exist (looked for ${filepath}); fix the path or unset it to search the project root`,
            },
          ],
        };
      }
      found = await explorer.load(filepath);
    } else {
      found = await explorer.search(cwd);
    }
  } catch (error) {
    return { layer, issues: [loadIssue(cwd, error, filepath)] };
  }
  if (found === null || found.isEmpty === true || found.config == null) {
    return found === null
      ? { layer, issues: [] }
      : { layer, file: display(cwd, found.filepath), issues: [] };
  }

  const file = display(cwd, found.filepath);
  const isPackageJson = found.filepath.endsWith("package.json");
  const label = isPackageJson ? `${file}#kamihi` : file;
  if (!isPlainObject(found.config)) {
    return {
      layer,
      file: label,
      issues: [
        {
          path: "",
          source: label,
          message: `expected the settings as an object (key: value pairs), got ${describe(found.config)}`,
        },
      ],
    };
  }
  const keyLines = lines.get(found.filepath);
  layer.values = found.config;
  layer.locate = (path) => {
    const line = keyLines?.get(path);
    return line === undefined ? { kind: "file", file: label } : { kind: "file", file: label, line };
  };
  forEachLeaf(found.config, (path) => {
    const key = path.join(".");
    const line = keyLines?.get(key);
    layer.sources.set(
      key,
      line === undefined ? { kind: "file", file: label } : { kind: "file", file: label, line },
    );
  });
  return { layer, file: label, issues: [] };
}

function display(cwd: string, filepath: string): string {
  const rel = relative(cwd, filepath);
  return rel.startsWith("..") ? filepath : rel;
}

function loadIssue(cwd: string, error: unknown, filepath?: string): ValidationIssue {
  if (error instanceof YamlSyntaxError) {
    return {
      path: "",
      source: `${display(cwd, error.filepath)}:${error.line}:${error.column}`,
      message: `${error.kind}: ${error.message}`,
    };
  }
  const err = error as Error & { filepath?: string };
  const where = err.filepath ?? filepath;
  return {
    path: "",
    source: where === undefined ? "config file" : display(cwd, where),
    message: `could not be loaded: ${redactTokens(firstLine(err.message ?? String(error)))}`,
  };
}

function firstLine(text: string): string {
  return text.split("\n")[0] ?? text;
}

/** What the file held instead of settings; never the content, which may hold the token. */
function describe(value: unknown): string {
  if (Array.isArray(value)) return "a list";
  if (typeof value === "string") return `a text of ${value.length} characters`;
  return `a ${typeof value}`;
}
