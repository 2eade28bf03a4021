/**
 * The embedded store's files, version 2 (described in the package README): the data file is a
 * snapshot, its log (`<file>.log`) the changes since. Both are lines of JSON:
 *
 *     {"format":"kamihi-embedded-store","version":2,"part":"snapshot","generation":3}
 *     {"in":"kamihi_users","indexes":[{"keys":{"telegramId":1},"unique":true,"name":"telegramId_1"}]}
 *     {"in":"kamihi_users","put":{"_id":"66…","telegramId":42,"createdAt":{"$date":{"$numberLong":"1767225600000"}}}}
 *     {"in":"kamihi_users","delete":"66…"}
 *     {"commit":3}
 *
 * Values are Extended JSON (EJSON): numbers are plain JSON numbers (NaN, ±Infinity and -0 as
 * `$numberDouble`), dates `{"$date":{"$numberLong":"…"}}`, other BSON values canonical EJSON.
 */
import type { Document, IndexSpec } from "@kamihi/core";
import { EJSON } from "bson";

export const FORMAT = "kamihi-embedded-store";
export const FORMAT_VERSION = 2;

export type Part = "snapshot" | "log";

/** One line of a data file or log. */
export type Line =
  | { kind: "header"; part: Part; version: number; generation: number }
  | { kind: "indexes"; collection: string; indexes: IndexSpec[] }
  | { kind: "put"; collection: string; doc: Document }
  | { kind: "delete"; collection: string; id: unknown }
  | { kind: "commit"; count: number };

export function headerLine(part: Part, generation: number): string {
  return `${JSON.stringify({ format: FORMAT, version: FORMAT_VERSION, part, generation })}\n`;
}

export function indexesLine(collection: string, indexes: readonly IndexSpec[]): string {
  return `${JSON.stringify({ in: collection, indexes: indexes.map(encodeValue) })}\n`;
}

export function putLine(collection: string, doc: Document): string {
  return `${JSON.stringify({ in: collection, put: encodeValue(doc) })}\n`;
}

export function deleteLine(collection: string, id: unknown): string {
  return `${JSON.stringify({ in: collection, delete: encodeValue(id) })}\n`;
}

export function commitLine(count: number): string {
  return `${JSON.stringify({ commit: count })}\n`;
}

/** Reads one line (without its newline); throws, saying why, if it is not a valid line. */
export function decodeLine(text: string): Line {
  const value = JSON.parse(text) as unknown;
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new Error("not a JSON object");
  }
  const line = value as Record<string, unknown>;
  if (line.format === FORMAT) {
    const { part, version, generation } = line;
    if ((part !== "snapshot" && part !== "log") || typeof version !== "number") {
      throw new Error("a damaged header");
    }
    if (typeof generation !== "number") throw new Error("a header without a generation");
    return { kind: "header", part, version, generation };
  }
  if (typeof line.commit === "number") return { kind: "commit", count: line.commit };
  const collection = line.in;
  if (typeof collection !== "string") throw new Error("a line that names no collection");
  if ("put" in line) {
    const doc = decodeValue(line.put);
    if (doc === null || typeof doc !== "object" || Array.isArray(doc)) {
      throw new Error("a put that holds no document");
    }
    return { kind: "put", collection, doc: doc as Document };
  }
  if ("delete" in line) return { kind: "delete", collection, id: decodeValue(line.delete) };
  if (Array.isArray(line.indexes)) {
    return { kind: "indexes", collection, indexes: line.indexes.map(decodeValue) as IndexSpec[] };
  }
  throw new Error("a line of unknown kind");
}

/**
 * A value as EJSON, ready for `JSON.stringify`. Plain values take a fast path that writes
 * what `EJSON.stringify` writes in relaxed mode for them (numbers as JSON numbers), dates
 * always as `$numberLong` (every year, no ISO formatting); other BSON values go to `bson`.
 * Keys whose value is `undefined` are left out, as `EJSON.stringify` does.
 */
export function encodeValue(value: unknown): unknown {
  switch (typeof value) {
    case "number":
      if (Number.isFinite(value) && !Object.is(value, -0)) return value;
      return { $numberDouble: Object.is(value, -0) ? "-0.0" : String(value) };
    case "string":
    case "boolean":
      return value;
    case "undefined":
      return null;
  }
  if (value === null) return null;
  if (Array.isArray(value)) return value.map(encodeValue);
  if (value instanceof Date) return { $date: { $numberLong: String(value.getTime()) } };
  const prototype = Object.getPrototypeOf(value) as unknown;
  if (prototype === Object.prototype || prototype === null) {
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
      if (child !== undefined) out[key] = encodeValue(child);
    }
    return out;
  }
  return EJSON.serialize(value, { relaxed: false });
}

/**
 * The inverse of {@link encodeValue}, reading any EJSON relaxed (numbers come back as
 * numbers): plain JSON values, numbers and dates take a fast path (`EJSON.parse` costs five
 * times `JSON.parse` on a large file); other `$`-typed values go to `bson`.
 */
export function decodeValue(value: unknown): unknown {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = decodeValue(value[i]);
    return value;
  }
  const object = value as Record<string, unknown>;
  const keys = Object.keys(object);
  const first = keys[0];
  if (first?.startsWith("$")) {
    if (keys.length === 1) {
      const inner = object[first];
      if (first === "$numberInt" && typeof inner === "string") return Number(inner);
      if (first === "$numberDouble" && typeof inner === "string") return Number(inner);
      if (first === "$date") {
        const time =
          inner !== null && typeof inner === "object"
            ? (inner as { $numberLong?: unknown }).$numberLong
            : undefined;
        if (typeof time === "string") return new Date(Number(time));
      }
    }
    return EJSON.deserialize(object, { relaxed: true });
  }
  for (const key of keys) object[key] = decodeValue(object[key]);
  return object;
}
