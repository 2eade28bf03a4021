import { isKamihiError, type Store } from "@kamihi/core";

/**
 * The store could not be reached while handling an update: the update waits for the store
 * and is handled again, instead of answering the user with an error.
 */
export class StoreOutage extends Error {
  override name = "StoreOutage";

  constructor(cause: unknown) {
    super("The store is unavailable; the update waits for it.", { cause });
  }
}

/** Whether `error` is the store failing to answer (as opposed to refusing a query). */
export function isStoreOutage(error: unknown): boolean {
  return (
    error instanceof StoreOutage ||
    isKamihiError(error, "KAMIHI_DB_UNREACHABLE") ||
    isKamihiError(error, "KAMIHI_DB_OPERATION_FAILED")
  );
}

/**
 * Whether `error` means the store is down right now: an outage-looking error, confirmed by a
 * ping that fails too. An operation that failed while the store answers pings is a real error.
 */
export async function storeIsDown(store: Store, error: unknown): Promise<boolean> {
  if (error instanceof StoreOutage) return true;
  if (!isStoreOutage(error)) return false;
  return store.ping().then(
    () => false,
    () => true,
  );
}
