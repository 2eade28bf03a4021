import type { Document } from "@kamihi/core";
import { update as mingoUpdate } from "mingo";

/**
 * The document an upsert inserts when nothing matches, as MongoDB builds it: the filter's
 * equalities (also inside a top-level `$and`, and `{ field: { $eq: value } }`), then
 * `$setOnInsert`, then the update's other operators.
 */
export function upsertDocument(filter: Document, change: Document): Document {
  const doc: Document = {};
  const equalities = (clauses: Document) => {
    for (const [key, value] of Object.entries(clauses)) {
      if (key === "$and" && Array.isArray(value)) {
        for (const clause of value) equalities(clause as Document);
        continue;
      }
      if (key.startsWith("$")) continue;
      if (isOperatorObject(value)) {
        if ("$eq" in (value as Document)) setDotted(doc, key, (value as Document).$eq);
        continue;
      }
      setDotted(doc, key, value);
    }
  };
  equalities(filter);
  const { $setOnInsert, ...operators } = change;
  for (const [key, value] of Object.entries(($setOnInsert as Document | undefined) ?? {})) {
    setDotted(doc, key, structuredClone(value));
  }
  mingoUpdate(doc, operators, undefined, undefined, { cloneMode: "deep" });
  return doc;
}

function isOperatorObject(value: unknown): boolean {
  return (
    value !== null &&
    typeof value === "object" &&
    !Array.isArray(value) &&
    !(value instanceof Date) &&
    Object.keys(value).some((key) => key.startsWith("$"))
  );
}

function setDotted(target: Document, path: string, value: unknown) {
  const parts = path.split(".");
  let node = target;
  for (const part of parts.slice(0, -1)) {
    if (node[part] === null || typeof node[part] !== "object") node[part] = {};
    node = node[part] as Document;
  }
  node[parts.at(-1) as string] = value;
}
