import { closest, distance } from "fastest-levenshtein";
import type { Layer } from "./sources.js";
import { setPath } from "./sources.js";
import { type LeafKind, leafPaths, nodeAt } from "./tree.js";

const PREFIX = "KAMIHI_";

/** Variables with the `KAMIHI_` prefix that are not settings. */
function isReserved(name: string): boolean {
  return (
    name === "KAMIHI_CONFIG_FILE" ||
    name.startsWith("KAMIHI_TEST_") ||
    name.startsWith("KAMIHI_REQUIRE_")
  );
}

/** `KAMIHI_RESPONSES__DEFAULT_MESSAGE` → `["responses", "defaultMessage"]`. */
export function envNameToPath(name: string): string[] {
  return name
    .slice(PREFIX.length)
    .split("__")
    .map((segment) =>
      segment.toLowerCase().replace(/_+([a-z0-9])/g, (_, c: string) => c.toUpperCase()),
    );
}

/** `["responses", "defaultMessage"]` → `KAMIHI_RESPONSES__DEFAULT_MESSAGE`. */
export function pathToEnvName(path: readonly string[]): string {
  return (
    PREFIX +
    path.map((segment) => segment.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase()).join("__")
  );
}

const TRUE = new Set(["true", "1", "yes", "on"]);
const FALSE = new Set(["false", "0", "no", "off"]);

/**
 * Turns an environment string into the type the schema expects. A string that cannot be
 * converted is kept as it is, so validation reports it with the original text.
 */
export function coerceEnvValue(raw: string, kind: LeafKind): unknown {
  const text = raw.trim();
  switch (kind) {
    case "number":
      return /^-?\d+(\.\d+)?$/.test(text) ? Number(text) : raw;
    case "boolean": {
      const lower = text.toLowerCase();
      if (TRUE.has(lower)) return true;
      if (FALSE.has(lower)) return false;
      return raw;
    }
    case "list":
      if (text === "") return [];
      if (text.startsWith("[")) {
        try {
          const parsed: unknown = JSON.parse(text);
          if (Array.isArray(parsed)) return parsed;
        } catch {
          // not JSON: read it as a comma-separated list
        }
      }
      return text
        .split(",")
        .map((item) => item.trim())
        .filter((item) => item !== "");
    case "string":
      return raw;
  }
}

/** Environment variables as read: the real environment over a `.env` file. */
export interface EnvInput {
  env: Readonly<Record<string, string | undefined>>;
  dotenv?: { file: string; values: Readonly<Record<string, string>> };
}

/** Builds the environment layer; unknown `KAMIHI_*` names become warnings, not errors. */
export function readEnvLayer(input: EnvInput): { layer: Layer; warnings: string[] } {
  const layer: Layer = { values: {}, sources: new Map() };
  const warnings: string[] = [];
  const merged = new Map<string, { value: string; dotenvFile?: string }>();
  for (const [name, value] of Object.entries(input.dotenv?.values ?? {})) {
    merged.set(name, { value, dotenvFile: input.dotenv?.file });
  }
  // An empty variable counts as unset, so it does not hide a value from .env.
  for (const [name, value] of Object.entries(input.env)) {
    if (value !== undefined && value.trim() !== "") merged.set(name, { value });
  }
  const names = [...merged.keys()].filter((n) => n.startsWith(PREFIX) && !isReserved(n)).sort();
  for (const name of names) {
    const entry = merged.get(name);
    if (entry === undefined) continue;
    // Empty variables count as unset: `.env.example` files and compose files leave them empty.
    if (entry.value.trim() === "") continue;
    const path = envNameToPath(name);
    const node = nodeAt(path);
    const where = entry.dotenvFile === undefined ? "" : ` (in ${entry.dotenvFile})`;
    if (node === undefined) {
      warnings.push(`${name}${where} is not a Kamihi setting and was ignored${suggestEnv(name)}`);
      continue;
    }
    if (node.kind === "group") {
      warnings.push(
        `${name}${where} names a group of settings and was ignored; set one of its keys, e.g. ${pathToEnvName([...path, [...node.children.keys()][0] ?? "key"])}`,
      );
      continue;
    }
    setPath(layer.values, path, coerceEnvValue(entry.value, node.type));
    const source =
      entry.dotenvFile === undefined
        ? { kind: "env" as const, variable: name }
        : { kind: "env" as const, variable: name, dotenvFile: entry.dotenvFile };
    layer.sources.set(path.join("."), source);
  }
  return { layer, warnings };
}

function suggestEnv(name: string): string {
  const candidates = leafPaths().map((p) => pathToEnvName(p.split(".")));
  const best = closest(name, candidates);
  return distance(name, best) <= Math.max(2, Math.floor(name.length / 4))
    ? `; did you mean ${best}?`
    : "";
}
