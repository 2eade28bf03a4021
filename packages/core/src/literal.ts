import { KamihiError } from "./errors.js";

/**
 * Wraps a value that came from outside (a message, a form, a URL) so a store filter matches
 * it exactly and it can never act as an operator: `{ username: literal(input) }`.
 *
 * Strings, numbers, booleans, dates and `null` pass through as `{ $eq: value }`; objects and
 * arrays are accepted only when no key anywhere inside starts with `$`, otherwise the call
 * throws `KAMIHI_DB_INVALID_QUERY` — so `{ "$gt": "" }` typed by a user is rejected instead
 * of matching every document.
 */
export function literal<V>(value: V): { $eq: V } {
  assertNoOperators(value, "value");
  return { $eq: value };
}

/**
 * Throws `KAMIHI_DB_INVALID_QUERY` when `value` holds an object key starting with `$` (at any
 * depth). Use it on any outside object before it reaches a filter or an update.
 */
export function assertNoOperators(value: unknown, what = "value"): void {
  const path = findOperatorKey(value, []);
  if (path !== undefined) {
    throw new KamihiError(
      "KAMIHI_DB_INVALID_QUERY",
      `The ${what} holds the key "${path.at(-1)}"${path.length > 1 ? ` at ${path.join(".")}` : ""}, which a store would read as an operator; outside input may hold plain values only.`,
      { details: { path: path.join(".") } },
    );
  }
}

function findOperatorKey(value: unknown, path: string[]): string[] | undefined {
  if (value === null || typeof value !== "object" || value instanceof Date) return undefined;
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const found = findOperatorKey(item, [...path, String(index)]);
      if (found) return found;
    }
    return undefined;
  }
  for (const [key, child] of Object.entries(value)) {
    if (key.startsWith("$")) return [...path, key];
    const found = findOperatorKey(child, [...path, key]);
    if (found) return found;
  }
  return undefined;
}
