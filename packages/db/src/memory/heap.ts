/**
 * A binary heap kept in an array, ordered by `compare`: the head is the item that compares
 * greatest (the worst of a top-k selection in sort.ts; the earliest expiry in expiry.ts, whose
 * comparison is reversed).
 */

/** Adds `item` to the heap. */
export function siftUp<R>(heap: R[], item: R, compare: (a: R, b: R) => number): void {
  let at = heap.length;
  heap.push(item);
  while (at > 0) {
    const parent = (at - 1) >> 1;
    if (compare(heap[parent] as R, item) >= 0) break;
    heap[at] = heap[parent] as R;
    at = parent;
  }
  heap[at] = item;
}

/** Replaces the head with `item` and restores the heap. */
export function siftDown<R>(heap: R[], item: R, compare: (a: R, b: R) => number): void {
  let at = 0;
  for (;;) {
    const left = 2 * at + 1;
    if (left >= heap.length) break;
    const right = left + 1;
    const child =
      right < heap.length && compare(heap[right] as R, heap[left] as R) > 0 ? right : left;
    if (compare(heap[child] as R, item) <= 0) break;
    heap[at] = heap[child] as R;
    at = child;
  }
  heap[at] = item;
}
