import type { Document } from "@kamihi/core";
import { ObjectId } from "bson";
import { Query } from "mingo";

/**
 * The `_id` a filter names by plain equality at its top level (`{ _id: x }` or
 * `{ _id: { $eq: x } }`, beside any other conditions), or undefined.
 *
 * FerretDB 1.x answers a filter that is exactly `{ _id: x }` from its primary key, but scans
 * the whole collection for anything more (even `{ $and: [{ _id: x }] }`). Looking a document
 * up by its id and testing the rest of the filter here keeps such queries O(1).
 */
export function idOf(filter: Document): { id: unknown } | undefined {
  const value = filter._id;
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "object" || value instanceof ObjectId) return { id: value };
  const keys = Object.keys(value);
  if (keys.length === 1 && keys[0] === "$eq") {
    const id = (value as { $eq: unknown }).$eq;
    if (id !== null && (typeof id !== "object" || id instanceof ObjectId)) return { id };
  }
  return undefined;
}

/** Whether `doc` matches `filter` (MongoDB's query semantics, by mingo). */
export function matches(filter: Document, doc: Document): boolean {
  return Object.keys(filter).length === 0 || new Query(filter).test(doc);
}

/** `doc` with a find projection applied (`{ a: 1 }` keeps a and _id; `{ a: 0 }` drops a). */
export function project(doc: Document, projection: Record<string, 0 | 1> | undefined): Document {
  if (projection === undefined) return doc;
  const entries = Object.entries(projection);
  if (entries.length === 0) return doc;
  const including = entries.some(([key, on]) => on === 1 && key !== "_id");
  if (!including) {
    const out = { ...doc };
    for (const [key, on] of entries) if (on === 0) delete out[key];
    return out;
  }
  const out: Document = {};
  if (projection._id !== 0 && "_id" in doc) out._id = doc._id;
  for (const [key, on] of entries) if (on === 1 && key in doc) out[key] = doc[key];
  return out;
}
