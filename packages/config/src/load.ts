import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import {
  KamihiValidationError,
  redactTokens,
  redactUrlCredentials,
  type Settings,
  type ValidationIssue,
} from "@kamihi/core";
import { parse as parseDotenv } from "dotenv";
import { closest, distance } from "fastest-levenshtein";
import * as v from "valibot";
import { readEnvLayer } from "./env.js";
import { readFileLayer } from "./file.js";
import { isSecretPath, isUrlPath, type SettingsInput, settingsSchema } from "./schema.js";
import {
  forEachLeaf,
  formatSource,
  getPath,
  isPlainObject,
  type Layer,
  type SettingSource,
  setPath,
} from "./sources.js";
import { allPaths, leafPaths, nodeAt, type SettingsNode, settingsTree } from "./tree.js";

/** Options of {@link loadSettings}. */
export interface LoadSettingsOptions {
  /** The project root: where the config file and `.env` are looked for. Default: `process.cwd()`. */
  cwd?: string;
  /** The environment to read. Default: `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Values set in code; they win over every other source. */
  overrides?: SettingsInput;
  /** A config file to load instead of searching; wins over `KAMIHI_CONFIG_FILE`. */
  configFile?: string;
  /** Read `.env` in the project root (never overriding the real environment). Default: `true`. */
  dotenv?: boolean;
}

/** One effective setting, safe to print. */
export interface EffectiveSetting {
  /** Dotted path, e.g. `web.port`. */
  path: string;
  /** The value, with secrets and URL credentials redacted. */
  value: unknown;
  source: SettingSource;
  /** `formatSource(source)`, e.g. `KAMIHI_WEB__PORT` or `kamihi.yaml:3`. */
  from: string;
  secret: boolean;
}

/** The result of {@link loadSettings}. */
export interface LoadedSettings {
  /** The validated settings, every key present, frozen. */
  settings: Settings;
  /** The config file that was read, relative to the project root, if any. */
  file?: string;
  /** Things worth telling the user that did not stop loading, e.g. unknown `KAMIHI_*` variables. */
  warnings: string[];
  /** Where the effective value at `path` came from. */
  sourceOf(path: string): SettingSource;
  /** Every setting with its effective value (secrets redacted) and source, in schema order. */
  effective(): EffectiveSetting[];
  /** The settings as a nested object with secrets and URL credentials redacted. */
  redacted(): Record<string, unknown>;
}

/**
 * Loads the settings from every source, highest priority first: `overrides` → config file
 * → environment (and `.env`) → defaults. Throws a `KamihiValidationError` with code
 * `KAMIHI_CONFIG_INVALID` listing every problem, each with its key, the offending value
 * (secrets never shown) and where it came from.
 *
 * @example
 * ```ts
 * const { settings } = await loadSettings();
 * console.log(settings.web.port); // 4242 unless configured
 * ```
 */
export async function loadSettings(options: LoadSettingsOptions = {}): Promise<LoadedSettings> {
  const cwd = resolve(options.cwd ?? process.cwd());
  const env = options.env ?? process.env;
  const dotenv = options.dotenv === false ? undefined : readDotenv(cwd);

  const issues: ValidationIssue[] = [];
  const envResult = readEnvLayer({ env, ...(dotenv === undefined ? {} : { dotenv }) });

  const explicit = explicitConfigFile(options, env, dotenv);
  const fileResult = await readFileLayer(cwd, explicit);
  issues.push(...fileResult.issues);
  issues.push(...unknownKeys(fileResult.layer));

  const overridesLayer = layerFromObject(options.overrides ?? {}, { kind: "override" });
  issues.push(...unknownKeys(overridesLayer));

  // Lowest priority first, so each layer overwrites the ones below it.
  const merged: Record<string, unknown> = {};
  const sources = new Map<string, SettingSource>();
  for (const layer of [envResult.layer, fileResult.layer, overridesLayer]) {
    forEachLeaf(layer.values, (path, value) => {
      if (value === null || value === undefined) return;
      const key = path.join(".");
      if (nodeAt(path) === undefined && !layer.sources.has(key)) return;
      setPath(merged, path, value);
      const source = layer.sources.get(key);
      if (source !== undefined) sources.set(key, source);
    });
  }
  const sourceOf = (path: string): SettingSource => {
    for (let p = path; p !== ""; p = p.includes(".") ? p.slice(0, p.lastIndexOf(".")) : "") {
      const source = sources.get(p);
      if (source !== undefined) return source;
    }
    return { kind: "default" };
  };

  const parsed = v.safeParse(settingsSchema, merged);
  if (!parsed.success) {
    for (const issue of parsed.issues) {
      const path = (issue.path ?? []).map((item) => String(item.key)).join(".");
      issues.push({
        path,
        message: issue.message,
        received: describeValue(path, getPath(merged, path === "" ? [] : path.split("."))),
        source: formatSource(sourceOf(path)),
      });
    }
  }
  issues.push(...crossChecks(merged, sourceOf));

  if (issues.length > 0) {
    // Last line of defence: nothing shaped like a bot token leaves in an error.
    for (const issue of issues) {
      issue.message = redactTokens(issue.message);
      if (issue.received !== undefined) issue.received = redactTokens(issue.received);
    }
    const count = issues.length === 1 ? "1 problem" : `${issues.length} problems`;
    throw new KamihiValidationError(
      "KAMIHI_CONFIG_INVALID",
      `Kamihi's settings are invalid (${count}); fix each value where it comes from:`,
      issues,
      { details: { file: fileResult.file } },
    );
  }

  const settings = deepFreeze(parsed.output as Settings);
  const effective = (): EffectiveSetting[] =>
    leafPaths().map((path) => {
      const source = sourceOf(path);
      return {
        path,
        value: redactValue(path, getPath(settings, path.split("."))),
        source,
        from: formatSource(source),
        secret: isSecretPath(path),
      };
    });
  return {
    settings,
    ...(fileResult.file === undefined ? {} : { file: fileResult.file }),
    warnings: envResult.warnings,
    sourceOf,
    effective,
    redacted: () => {
      const out: Record<string, unknown> = {};
      for (const entry of effective()) setPath(out, entry.path.split("."), entry.value);
      return out;
    },
  };
}

/**
 * Types a config file written in TypeScript or JavaScript:
 * `export default defineConfig({ web: { port: 8080 } })`.
 */
export function defineConfig(settings: SettingsInput): SettingsInput {
  return settings;
}

function readDotenv(cwd: string): { file: string; values: Record<string, string> } | undefined {
  const path = join(cwd, ".env");
  if (!existsSync(path)) return undefined;
  return { file: ".env", values: parseDotenv(readFileSync(path)) };
}

function explicitConfigFile(
  options: LoadSettingsOptions,
  env: Readonly<Record<string, string | undefined>>,
  dotenv: { values: Record<string, string> } | undefined,
): { path: string; namedBy: string } | undefined {
  if (options.configFile !== undefined) {
    return { path: options.configFile, namedBy: "the configFile option" };
  }
  const fromEnv = env.KAMIHI_CONFIG_FILE;
  if (fromEnv !== undefined && fromEnv !== "")
    return { path: fromEnv, namedBy: "KAMIHI_CONFIG_FILE" };
  const fromDotenv = dotenv?.values.KAMIHI_CONFIG_FILE;
  if (fromDotenv !== undefined && fromDotenv !== "") {
    return { path: fromDotenv, namedBy: "KAMIHI_CONFIG_FILE in .env" };
  }
  return undefined;
}

function layerFromObject(values: object, source: SettingSource): Layer {
  const layer: Layer = {
    values: structuredClone(values) as Record<string, unknown>,
    sources: new Map(),
  };
  forEachLeaf(layer.values, (path) => layer.sources.set(path.join("."), source));
  return layer;
}

function unknownKeys(layer: Layer): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const walk = (value: Record<string, unknown>, node: SettingsNode, prefix: string[]) => {
    if (node.kind !== "group") return;
    for (const [key, child] of Object.entries(value)) {
      const path = [...prefix, key];
      const childNode = node.children.get(key);
      if (childNode === undefined) {
        const dotted = path.join(".");
        const hint = suggestPath(dotted);
        issues.push({
          path: dotted,
          message: "is not a Kamihi setting",
          source: formatSource(firstSourceUnder(layer, dotted)),
          ...(hint === undefined ? {} : { hint }),
        });
        continue;
      }
      if (childNode.kind === "group" && isPlainObject(child)) walk(child, childNode, path);
    }
  };
  walk(layer.values, settingsTree, []);
  // An unknown key must not reach validation as if it were known.
  for (const issue of issues) deletePath(layer.values, issue.path.split("."));
  return issues;
}

function firstSourceUnder(layer: Layer, path: string): SettingSource {
  if (layer.locate !== undefined) return layer.locate(path);
  for (const [key, source] of layer.sources) {
    if (key === path || key.startsWith(`${path}.`)) return source;
  }
  return { kind: "override" };
}

function deletePath(target: Record<string, unknown>, path: string[]) {
  const parent = getPath(target, path.slice(0, -1));
  const last = path.at(-1);
  if (isPlainObject(parent) && last !== undefined) delete parent[last];
}

function suggestPath(path: string): string | undefined {
  const candidates = allPaths();
  const best = closest(path, candidates);
  if (distance(path, best) <= Math.max(1, Math.floor(path.length / 3))) {
    return `did you mean "${best}"?`;
  }
  const last = path.split(".").at(-1) ?? "";
  const sameName = candidates.filter((c) => c.split(".").at(-1) === last);
  if (sameName.length > 0) return `did you mean ${sameName.map((c) => `"${c}"`).join(" or ")}?`;
  return undefined;
}

function crossChecks(
  merged: Record<string, unknown>,
  sourceOf: (path: string) => SettingSource,
): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  if (
    getPath(merged, ["tg", "mode"]) === "webhook" &&
    getPath(merged, ["tg", "webhook", "url"]) == null
  ) {
    issues.push({
      path: "tg.webhook.url",
      message: `is required when tg.mode is "webhook" (set by ${formatSource(sourceOf("tg.mode"))}); set the public https URL Telegram should post updates to`,
    });
  }
  return issues;
}

/** Renders a bad value for an error message without ever revealing a secret. */
function describeValue(path: string, value: unknown): string {
  if (value === undefined) return "nothing";
  if (isSecretPath(path)) {
    return typeof value === "string"
      ? `a hidden value of ${value.length} characters`
      : `a hidden ${Array.isArray(value) ? "list" : typeof value}`;
  }
  if (typeof value === "string") {
    return JSON.stringify(isUrlPath(path) ? redactUrlCredentials(value) : value);
  }
  if (isPlainObject(value)) return "a group of settings";
  return JSON.stringify(value) ?? String(value);
}

function redactValue(path: string, value: unknown): unknown {
  if (value === undefined) return undefined;
  if (isSecretPath(path)) return "[redacted]";
  if (typeof value === "string" && isUrlPath(path)) return redactUrlCredentials(value);
  return value;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object") {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/** A redacted, printable line per setting: `web.port = 4242  (KAMIHI_WEB__PORT)`. */
export function formatEffectiveSettings(entries: readonly EffectiveSetting[]): string {
  const width = Math.max(...entries.map((e) => e.path.length));
  return entries
    .map((e) => {
      const shown = e.value === undefined ? "(not set)" : JSON.stringify(e.value);
      return `${e.path.padEnd(width)} = ${shown}  (${e.from})`;
    })
    .join("\n");
}
