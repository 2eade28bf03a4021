/** Why creating a project failed: a value to correct, or a step that did not work. */
export type ScaffoldErrorReason =
  /** An option has a value that cannot be used (name, token, URL, admin id…). */
  | "invalid-option"
  /** The target exists and is not an empty folder. */
  | "target-exists"
  /** Writing the files failed. */
  | "write-failed"
  /** `<pm> install` could not start or failed; the files are in place. */
  | "install-failed";

/**
 * The error {@link scaffold} throws. The message says what went wrong and what to do next;
 * `reason` is stable, for callers that branch on it.
 */
export class ScaffoldError extends Error {
  override name = "ScaffoldError";
  readonly reason: ScaffoldErrorReason;

  constructor(reason: ScaffoldErrorReason, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.reason = reason;
  }
}

/** True when `error` is a {@link ScaffoldError}, optionally with the given reason. */
export function isScaffoldError(
  error: unknown,
  reason?: ScaffoldErrorReason,
): error is ScaffoldError {
  return error instanceof ScaffoldError && (reason === undefined || error.reason === reason);
}
