import type { Document } from "@kamihi/core";
import { resolve } from "mingo/util";
import type { TtlRule } from "../common.js";
import { siftDown, siftUp } from "./heap.js";

/**
 * When a document expires under TTL rules (ms since the epoch), or `undefined` if never.
 *
 * Expired means what the store's `{ field: { $lte: now - seconds } }` means to mingo: some
 * Date at the path (the value, or an element of an array there) is that old. So the earliest
 * Date decides, and values of other types never expire.
 */
export function expiryOf(rules: readonly TtlRule[], doc: Document): number | undefined {
  let earliest: number | undefined;
  for (const rule of rules) {
    const found = resolve(doc, rule.field, { unwrapArray: true });
    for (const value of Array.isArray(found) ? found : [found]) {
      if (!(value instanceof Date)) continue;
      const at = value.getTime() + rule.seconds * 1000;
      if (earliest === undefined || at < earliest) earliest = at;
    }
  }
  return earliest;
}

/** One document's expiry, as queued: stale once the holder no longer holds that document. */
export interface Due<H> {
  at: number;
  holder: H;
  doc: Document;
}

/**
 * The documents of a table by expiry, earliest first (a binary heap): purging expired
 * documents before an operation looks at the head only, instead of testing every document.
 * An updated or deleted document's old entry stays queued and is skipped when it comes up.
 */
export class ExpiryQueue<H> {
  #heap: Due<H>[] = [];

  get size(): number {
    return this.#heap.length;
  }

  clear(): void {
    this.#heap = [];
  }

  push(due: Due<H>): void {
    siftUp(this.#heap, due, earliestFirst);
  }

  /** The earliest entry, if it is due at `now`. */
  peekDue(now: number): Due<H> | undefined {
    const head = this.#heap[0];
    return head !== undefined && head.at <= now ? head : undefined;
  }

  pop(): Due<H> | undefined {
    const heap = this.#heap;
    const head = heap[0];
    const last = heap.pop();
    if (head === undefined || last === undefined || heap.length === 0) return head;
    siftDown(heap, last, earliestFirst);
    return head;
  }
}

/** The heap's order: the earliest expiry compares greatest, so it is the head. */
function earliestFirst<H>(a: Due<H>, b: Due<H>): number {
  return b.at - a.at;
}
