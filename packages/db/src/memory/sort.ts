import type { Document, FindOptions } from "@kamihi/core";
import { find as mingoFind } from "mingo";
import { resolve } from "mingo/util";
import { siftDown, siftUp } from "./heap.js";
import { field } from "./keys.js";

type Sort = NonNullable<FindOptions["sort"]>;

/**
 * `items` (in natural order) sorted by their documents and `sort`, then `skip` and `limit`
 * applied, in one pass over them: with a limit, a bounded heap keeps the best `skip + limit`
 * (n log k, no copy of the whole collection); without one, or when a sort value is one whose
 * order is subtle (arrays, sub-documents, NaN), the query engine (mingo) sorts them all, once.
 *
 * Both give mingo's order: by each key in turn (ascending unless -1), missing and null first
 * and equal to each other, then numbers, strings, booleans, dates; ties in natural order.
 */
export function sortPage<T extends { doc: Document }>(
  items: readonly T[],
  sort: Sort,
  skip: number,
  limit: number | undefined,
): T[] {
  const keys = Object.keys(sort);
  if (keys.length > 0 && limit !== undefined && skip + limit < items.length) {
    const best = selectBest(
      items,
      keys,
      keys.map((key) => (sort[key] === -1 ? -1 : 1)),
      skip + limit,
    );
    if (best !== undefined) return best.slice(skip);
  }
  const byDoc = new Map(items.map((item) => [item.doc, item]));
  let cursor = mingoFind(
    items.map((item) => item.doc),
    {},
  ).sort(sort);
  if (skip > 0) cursor = cursor.skip(skip);
  if (limit !== undefined) cursor = cursor.limit(limit);
  return (cursor.all() as Document[]).map((doc) => byDoc.get(doc) as T);
}

interface Ranked<T> {
  values: unknown[];
  order: number;
  item: T;
}

/** The first `count` items in sort order, or `undefined` if a value needs mingo's order. */
function selectBest<T extends { doc: Document }>(
  items: readonly T[],
  keys: readonly string[],
  directions: readonly number[],
  count: number,
): T[] | undefined {
  const compare = (a: Ranked<T>, b: Ranked<T>): number => {
    for (let i = 0; i < keys.length; i++) {
      const order = compareValues(a.values[i], b.values[i]) * (directions[i] as number);
      if (order !== 0) return order;
    }
    return a.order - b.order;
  };
  // A plain field is read directly; a path (or anything mingo may refuse) through mingo.
  const readers = keys.map((key) =>
    key.includes(".") || key.includes("__proto__")
      ? (doc: Document) => resolve(doc, key)
      : (doc: Document) => field(doc, key),
  );
  // A max-heap of the best so far: its head is the worst of them, the one to beat.
  const heap: Ranked<T>[] = [];
  for (let order = 0; order < items.length; order++) {
    const item = items[order] as T;
    const values: unknown[] = [];
    for (const read of readers) {
      const value = read(item.doc) ?? null;
      if (!isSimple(value)) return undefined;
      values.push(value);
    }
    const ranked: Ranked<T> = { values, order, item };
    if (heap.length < count) {
      siftUp(heap, ranked, compare);
    } else if (compare(ranked, heap[0] as Ranked<T>) < 0) {
      siftDown(heap, ranked, compare);
    }
  }
  return heap.sort(compare).map((ranked) => ranked.item);
}

/** Values whose order is plain: null (or missing), numbers but NaN, strings, booleans, dates. */
function isSimple(value: unknown): boolean {
  switch (typeof value) {
    case "number":
      return !Number.isNaN(value);
    case "string":
    case "boolean":
      return true;
    case "object":
      return value === null || value instanceof Date;
    default:
      return false;
  }
}

/** mingo's rank of each type in a sort. */
function rank(value: unknown): number {
  if (value === null) return 2;
  switch (typeof value) {
    case "number":
      return 3;
    case "string":
      return 4;
    case "boolean":
      return 9;
    default:
      return 10;
  }
}

function compareValues(a: unknown, b: unknown): number {
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra - rb;
  if (ra === 2) return 0;
  const x = ra === 10 ? (a as Date).getTime() : (a as number | string | boolean);
  const y = rb === 10 ? (b as Date).getTime() : (b as number | string | boolean);
  return x < y ? -1 : x > y ? 1 : 0;
}
