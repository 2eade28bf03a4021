import { KamihiError } from "@kamihi/core";

/** What a new role may be called; the admin's forms check the same pattern. */
const ROLE_NAME = /^[\p{L}\p{N}_.-]{1,64}$/u;

/**
 * The name of a role to create, trimmed: 1 to 64 letters, digits, `_`, `-` or `.`. Throws
 * `KAMIHI_ROLE_INVALID_NAME` otherwise.
 */
export function checkNewRoleName(value: unknown): string {
  const name = typeof value === "string" ? value.trim() : "";
  if (!ROLE_NAME.test(name)) {
    throw new KamihiError(
      "KAMIHI_ROLE_INVALID_NAME",
      `"${String(value).slice(0, 80)}" is not a valid role name: use 1 to 64 letters, digits, "_", "-" or ".".`,
      { details: { role: typeof value === "string" ? value.slice(0, 80) : String(value) } },
    );
  }
  return name;
}

/**
 * The name of an existing role, as a caller gives it: a non-empty text, never an object that
 * could act as a query operator. Throws `KAMIHI_ROLE_INVALID_NAME` otherwise. Any other text is
 * looked up as it is (a role stored before the naming rule still has to be reachable), so a
 * text naming no role is `KAMIHI_ROLE_NOT_FOUND`, from the lookup.
 */
export function checkRoleName(value: unknown): string {
  if (typeof value !== "string" || value.trim() === "") {
    throw new KamihiError(
      "KAMIHI_ROLE_INVALID_NAME",
      `A role name must be a non-empty text, not ${JSON.stringify(value) ?? String(value)}.`,
    );
  }
  return value.trim();
}
