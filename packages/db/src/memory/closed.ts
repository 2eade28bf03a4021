import { KamihiError } from "@kamihi/core";

/** What an operation on a closed embedded store fails with. */
export function closedError(): KamihiError {
  return new KamihiError(
    "KAMIHI_DB_OPERATION_FAILED",
    "The embedded store is closed; create a new one to use it again.",
  );
}
