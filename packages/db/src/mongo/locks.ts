import type { Db } from "mongodb";
import { isDuplicateError } from "./errors.js";

/** Short-lived locks on documents, kept in the store's locks collection. */
export interface DocumentLocks {
  /** Runs `fn` holding the lock `id`; waits (bounded) while someone else holds it. */
  holding<R>(id: string, fn: () => Promise<R>): Promise<R>;
}

/**
 * Locks taken by inserting their id into `<prefix>_locks`: a unique insert, which servers
 * enforce even where their conditional updates are not atomic (FerretDB 1.x). A lock is held
 * at most `operationTimeoutMs`: a holder that died leaves it behind, and it expires then.
 */
export function createDocumentLocks(
  db: Db,
  prefix: string,
  operationTimeoutMs: number,
): DocumentLocks {
  const locks = () => db.collection<{ _id: string; at: Date }>(`${prefix}_locks`);

  async function acquire(id: string) {
    const deadline = Date.now() + operationTimeoutMs;
    for (let attempt = 0; ; attempt++) {
      try {
        await locks().insertOne({ _id: id, at: new Date() });
        return;
      } catch (error) {
        if (!isDuplicateError(error)) throw error;
      }
      await locks().deleteOne({ _id: id, at: { $lt: new Date(Date.now() - operationTimeoutMs) } });
      if (Date.now() > deadline) {
        throw new Error(`the document stayed locked for ${operationTimeoutMs} ms`);
      }
      // A short random back-off, so that contenders do not retry in step.
      await new Promise((resolve) =>
        setTimeout(resolve, Math.min(50, 2 + attempt * 2) * Math.random()),
      );
    }
  }

  return {
    async holding(id, fn) {
      await acquire(id);
      try {
        return await fn();
      } finally {
        await locks()
          .deleteOne({ _id: id as never })
          .catch(() => {});
      }
    },
  };
}
