import type { GenericSchema } from "valibot";
import { settingsSchema } from "./schema.js";

/** What kind of value a setting holds, as far as coercing env strings is concerned. */
export type LeafKind = "string" | "number" | "boolean" | "list";

/** The shape of the settings: groups of settings and leaves. */
export type SettingsNode =
  | { kind: "group"; children: Map<string, SettingsNode> }
  | { kind: "leaf"; type: LeafKind };

interface SchemaLike {
  type: string;
  wrapped?: SchemaLike;
  entries?: Record<string, SchemaLike>;
}

function nodeOf(schema: SchemaLike): SettingsNode {
  switch (schema.type) {
    case "optional":
    case "nullish":
    case "nullable":
      return nodeOf(schema.wrapped as SchemaLike);
    case "object": {
      const children = new Map<string, SettingsNode>();
      for (const [key, entry] of Object.entries(schema.entries ?? {})) {
        children.set(key, nodeOf(entry));
      }
      return { kind: "group", children };
    }
    case "number":
      return { kind: "leaf", type: "number" };
    case "boolean":
      return { kind: "leaf", type: "boolean" };
    case "array":
      return { kind: "leaf", type: "list" };
    default:
      return { kind: "leaf", type: "string" };
  }
}

/** The settings tree derived from the schema, so it can never drift from what is validated. */
export const settingsTree = nodeOf(settingsSchema as unknown as SchemaLike & GenericSchema);

/** The node at a dotted path, or `undefined` when no setting lives there. */
export function nodeAt(path: readonly string[]): SettingsNode | undefined {
  let node: SettingsNode | undefined = settingsTree;
  for (const key of path) {
    if (node?.kind !== "group") return undefined;
    node = node.children.get(key);
  }
  return node;
}

/** Every dotted path of the tree, groups and leaves, in schema order. */
export function allPaths(node: SettingsNode = settingsTree, prefix = ""): string[] {
  if (node.kind === "leaf") return [];
  const paths: string[] = [];
  for (const [key, child] of node.children) {
    const path = prefix === "" ? key : `${prefix}.${key}`;
    paths.push(path, ...allPaths(child, path));
  }
  return paths;
}

/** Every leaf path, in schema order. */
export function leafPaths(node: SettingsNode = settingsTree, prefix = ""): string[] {
  if (node.kind === "leaf") return [prefix];
  const paths: string[] = [];
  for (const [key, child] of node.children) {
    paths.push(...leafPaths(child, prefix === "" ? key : `${prefix}.${key}`));
  }
  return paths;
}
