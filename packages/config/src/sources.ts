/** Where an effective setting came from. */
export type SettingSource =
  | { kind: "default" }
  | { kind: "env"; variable: string; dotenvFile?: string }
  | { kind: "file"; file: string; line?: number }
  | { kind: "override" };

/** A short label for messages and `kamihi config`: `KAMIHI_WEB__PORT`, `kamihi.yaml:3`, … */
export function formatSource(source: SettingSource): string {
  switch (source.kind) {
    case "default":
      return "default";
    case "env":
      return source.dotenvFile === undefined
        ? source.variable
        : `${source.variable} in ${source.dotenvFile}`;
    case "file":
      return source.line === undefined ? source.file : `${source.file}:${source.line}`;
    case "override":
      return "overrides in code";
  }
}

/** Values of one source, nested like the settings, with the source of every leaf. */
export interface Layer {
  values: Record<string, unknown>;
  sources: Map<string, SettingSource>;
  /** Where any key of this layer (a group too) was written, for unknown-key reports. */
  locate?: (path: string) => SettingSource;
}

/** Whether a value is a plain object (a group of settings), not a leaf. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Sets a leaf in a nested object, creating groups on the way. */
export function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown) {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (!isPlainObject(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  const last = path.at(-1);
  if (last !== undefined) node[last] = value;
}

/** Reads a nested value by path; numeric keys index into lists. */
export function getPath(target: unknown, path: readonly string[]): unknown {
  let node = target;
  for (const key of path) {
    if (Array.isArray(node) && /^\d+$/.test(key)) node = node[Number(key)];
    else if (isPlainObject(node)) node = node[key];
    else return undefined;
  }
  return node;
}

/** Calls `visit` for every leaf (a value that is not a plain object) of a nested object. */
export function forEachLeaf(
  value: Record<string, unknown>,
  visit: (path: string[], leaf: unknown) => void,
  prefix: string[] = [],
) {
  for (const [key, child] of Object.entries(value)) {
    const path = [...prefix, key];
    if (isPlainObject(child)) forEachLeaf(child, visit, path);
    else visit(path, child);
  }
}
