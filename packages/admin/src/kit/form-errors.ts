import { isKamihiError, isKamihiValidationError, type KamihiErrorCode } from "@kamihi/core";
import type { FieldErrors, FormState } from "./forms.js";

/**
 * A Kamihi error as form errors: an error whose code `byCode` maps goes to that field,
 * validation issues go to their fields (by path), anything else to the form. Errors that are
 * not Kamihi's give `undefined` (they are bugs: let them fail).
 */
export function formErrorsOf(
  error: unknown,
  byCode: Partial<Record<KamihiErrorCode, string>> = {},
): Pick<FormState, "errors" | "formError"> | undefined {
  if (!isKamihiError(error)) return undefined;
  const field = byCode[error.code];
  if (field !== undefined) return { errors: { [field]: error.message } };
  if (!isKamihiValidationError(error) || error.issues.length === 0) {
    return { errors: {}, formError: error.message };
  }
  const errors: FieldErrors = {};
  const rest: string[] = [];
  for (const issue of error.issues) {
    if (issue.path === "" || issue.path === "data") rest.push(issue.message);
    else errors[issue.path] ??= issue.message;
  }
  return {
    errors,
    ...(rest.length > 0 ? { formError: rest.join(" ") } : {}),
  };
}

/** The text of a Kamihi error for a flash message; other errors are rethrown. */
export function flashOf(error: unknown): { kind: "error"; text: string } {
  if (!isKamihiError(error)) throw error;
  return { kind: "error", text: error.message };
}
