import type { Document } from "@kamihi/core";
import { find as mingoFind } from "mingo";

/**
 * Applies a projection. The common shapes — top-level fields included (`{ a: 1 }`, `_id` kept
 * unless `{ _id: 0 }`) or excluded (`{ a: 0 }`) — are copied directly: setting up the query
 * engine for them costs more than the lookup they follow. Anything else (paths, operators,
 * expressions) goes to the query engine (mingo).
 */
export function project(docs: Document[], projection: Document | undefined): Document[] {
  if (projection === undefined) return docs;
  const fields = Object.keys(projection);
  if (fields.length === 0) return docs;
  const shape = simpleShape(projection, fields);
  if (shape === undefined) return mingoFind(docs, {}, projection).all() as Document[];
  return docs.map((doc) => {
    const copy: Document = {};
    if (shape.include) {
      if (shape.keepId && "_id" in doc) copy._id = doc._id;
      for (const field of shape.fields) {
        if (Object.hasOwn(doc, field)) copy[field] = doc[field];
      }
      return copy;
    }
    for (const field of Object.keys(doc)) {
      if (!shape.fields.includes(field) && !(field === "_id" && !shape.keepId)) {
        copy[field] = doc[field];
      }
    }
    return copy;
  });
}

/** The fields of an all-inclusion or all-exclusion projection of top-level fields. */
function simpleShape(
  projection: Document,
  fields: readonly string[],
): { include: boolean; keepId: boolean; fields: string[] } | undefined {
  let include: boolean | undefined;
  let keepId = true;
  let idNamed = false;
  const named: string[] = [];
  for (const field of fields) {
    const value = projection[field];
    if (value !== 0 && value !== 1 && value !== true && value !== false) return undefined;
    const on = value === 1 || value === true;
    if (field === "_id") {
      keepId = on;
      idNamed = true;
      continue;
    }
    if (field === "" || field.startsWith("$") || field.includes(".")) return undefined;
    // Names `Object.prototype` has (`constructor`…): the query engine's own rules apply.
    if (field in Object.prototype) return undefined;
    if (include !== undefined && include !== on) return undefined;
    include = on;
    named.push(field);
  }
  // `{ _id: 1 }` alone keeps only `_id`; `{ _id: 0 }` alone everything else.
  if (include === undefined) return { include: keepId, keepId, fields: [] };
  // `{ a: 0, _id: 1 }` mixes the two kinds: the query engine says what it makes of it.
  if (!include && idNamed && keepId) return undefined;
  return { include, keepId, fields: named };
}
