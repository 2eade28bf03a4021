import type { Document, IndexSpec } from "@kamihi/core";
import { EJSON } from "bson";

/** The key of a missing field, `null` and `undefined`: MongoDB holds them equal in an index. */
export const NULL_KEY = "z";

/**
 * The text of one value as an index key, the one key function of the embedded store (the
 * primary key, unique indexes, lookups). Type-sensitive as MongoDB is (`1`, `"1"` and a Date
 * of 1 ms are three keys) and equal where it holds values equal (`0` and `-0`, two Dates of
 * the same instant, `null` and a missing field). Sub-documents and other BSON values fall
 * back to canonical EJSON, field order included, as MongoDB compares them.
 */
export function keyOf(value: unknown): string {
  switch (typeof value) {
    case "string":
      return `s${value}`;
    case "number":
      // `-0 === 0`, so both are "n0"; NaN is "nNaN", equal to itself as in MongoDB.
      return value === 0 ? "n0" : `n${value}`;
    case "boolean":
      return value ? "t" : "f";
    case "bigint":
      return `g${value}`;
    case "undefined":
      return NULL_KEY;
    case "symbol":
    case "function":
      return `x${String(value)}`;
  }
  if (value === null) return NULL_KEY;
  if (value instanceof Date) return `d${value.getTime()}`;
  return `j${EJSON.stringify(value, { relaxed: false })}`;
}

/**
 * Whether a query value can be looked up by {@link keyOf}: two such values are equal for the
 * query engine (mingo) exactly when their keys are. Sub-documents, arrays and regular
 * expressions are not (mingo compares documents regardless of field order): a filter on them
 * scans.
 */
export function isLookupValue(value: unknown): boolean {
  switch (typeof value) {
    case "string":
    case "number":
    case "boolean":
    case "bigint":
    case "undefined":
      return true;
    case "object":
      return (
        value === null ||
        value instanceof Date ||
        (value as { _bsontype?: unknown })._bsontype === "ObjectId"
      );
    default:
      return false;
  }
}

/** Own properties of `Object.prototype`, which a path never reaches (as in mingo). */
const PROTOTYPE_PROPERTIES = new Set(
  Object.getOwnPropertyNames(Object.prototype).filter((name) => name !== "__proto__"),
);

/** A field of an object as the query engine (mingo) reads it: never from `Object.prototype`. */
export function field(node: object, name: string): unknown {
  if (PROTOTYPE_PROPERTIES.has(name) && !Object.hasOwn(node, name)) return undefined;
  return (node as Document)[name];
}

const DIGITS = /^\d+$/;

/**
 * Every key under which a lookup index on `path` files `doc`: the value at the path, each
 * element of an array on the way or at the end (a multikey index), and {@link NULL_KEY}
 * wherever a branch of the path is missing, null or an empty array. Deliberately generous:
 * a document a query on `path` can match is always filed under the query's key, and the
 * query itself then decides.
 */
export function lookupKeys(doc: Document, path: string): Set<string> {
  const keys = new Set<string>();
  collect(doc, path.split("."), 0, keys);
  return keys;
}

function collect(node: unknown, parts: readonly string[], at: number, keys: Set<string>): void {
  if (at === parts.length) {
    collectLeaf(node, keys);
    return;
  }
  const part = parts[at] as string;
  if (Array.isArray(node)) {
    if (node.length === 0) keys.add(NULL_KEY);
    if (DIGITS.test(part)) collect(node[Number(part)], parts, at + 1, keys);
    for (const element of node) {
      // mingo takes an array inside an array as the value of the rest of the path.
      if (Array.isArray(element)) collectLeaf(element, keys);
      collect(element, parts, at, keys);
    }
    return;
  }
  if (node !== null && typeof node === "object" && !(node instanceof Date)) {
    collect(field(node, part), parts, at + 1, keys);
    return;
  }
  keys.add(NULL_KEY);
}

function collectLeaf(value: unknown, keys: Set<string>): void {
  if (Array.isArray(value)) {
    if (value.length === 0) keys.add(NULL_KEY);
    for (const element of value) collectLeaf(element, keys);
    return;
  }
  if (isLookupValue(value)) keys.add(keyOf(value));
}

/** The value at a dotted path, without looking into arrays (a unique index's view). */
export function getDotted(doc: Document, path: string): unknown {
  let node: unknown = doc;
  for (const part of path.split(".")) {
    if (node === null || typeof node !== "object") return undefined;
    node = field(node, part);
  }
  return node;
}

/** One key a unique index holds for a document: the key itself, and its text. */
export interface UniqueKey {
  key: Document;
  text: string;
}

/**
 * The keys a unique index holds for a document: a missing field counts as null, and an array
 * field contributes one key per element (a multikey index), as in MongoDB.
 */
export function uniqueKeys(spec: IndexSpec, doc: Document): UniqueKey[] {
  const fields = Object.keys(spec.keys);
  let keys: Document[] = [{}];
  for (const name of fields) {
    const value = getDotted(doc, name) ?? null;
    const values: unknown[] = Array.isArray(value)
      ? value.length === 0
        ? [null]
        : value
      : [value];
    keys = keys.flatMap((key) => values.map((v) => ({ ...key, [name]: v ?? null })));
  }
  return keys.map((key) => ({
    key,
    text:
      fields.length === 1
        ? keyOf(key[fields[0] as string])
        : JSON.stringify(fields.map((name) => keyOf(key[name]))),
  }));
}

/** An index spec in a form that ignores property order. */
export function canonicalIndex(spec: IndexSpec): string {
  return JSON.stringify([
    Object.entries(spec.keys),
    spec.unique === true,
    spec.expireAfterSeconds ?? null,
    spec.name ?? null,
  ]);
}
