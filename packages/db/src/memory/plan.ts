import type { Document } from "@kamihi/core";
import { has, normalize } from "mingo/util";
import { isLookupValue, keyOf } from "./keys.js";

/** A condition of a filter that an index can answer: the value at `path` has one of `keys`. */
export interface Equality {
  path: string;
  keys: string[];
}

/**
 * The equalities every document matching `filter` must satisfy: `{ path: value }`,
 * `{ path: { $eq: value } }` and `{ path: { $in: [values] } }` at the top level or inside a
 * top-level `$and`, for values {@link keyOf} can key (no sub-documents, arrays or regular
 * expressions). Anything else (`$or`, ranges…) is left to the query itself.
 */
export function equalities(filter: Document, found: Equality[] = []): Equality[] {
  for (const path of Object.keys(filter)) {
    const condition = filter[path];
    if (path === "$and") {
      if (!Array.isArray(condition)) continue;
      for (const clause of condition) {
        if (clause !== null && typeof clause === "object" && !Array.isArray(clause)) {
          equalities(clause as Document, found);
        }
      }
      continue;
    }
    if (path.startsWith("$")) continue;
    // The query engine's own reading of the condition: a literal means { $eq: literal }.
    const expression = normalize(condition) as Document;
    if (has(expression, "$eq")) {
      const value = expression.$eq;
      if (isLookupValue(value)) found.push({ path, keys: [keyOf(value)] });
    } else if (has(expression, "$in") && Array.isArray(expression.$in)) {
      const values = expression.$in as unknown[];
      if (values.every(isLookupValue)) found.push({ path, keys: values.map(keyOf) });
    }
  }
  return found;
}
