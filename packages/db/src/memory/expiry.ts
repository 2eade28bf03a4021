import type { Document } from "@kamihi/core";
import { resolve } from "mingo/util";
import type { TtlRule } from "../common.js";

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
    const heap = this.#heap;
    heap.push(due);
    let at = heap.length - 1;
    while (at > 0) {
      const parent = (at - 1) >> 1;
      if ((heap[parent] as Due<H>).at <= due.at) break;
      heap[at] = heap[parent] as Due<H>;
      at = parent;
    }
    heap[at] = due;
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
    let at = 0;
    for (;;) {
      const left = 2 * at + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child =
        right < heap.length && (heap[right] as Due<H>).at < (heap[left] as Due<H>).at
          ? right
          : left;
      if ((heap[child] as Due<H>).at >= last.at) break;
      heap[at] = heap[child] as Due<H>;
      at = child;
    }
    heap[at] = last;
    return head;
  }
}
