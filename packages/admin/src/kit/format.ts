import type { User } from "@kamihi/core";

/**
 * How pages show values; handed to every view as `it.fmt`. Everything returns plain text: the
 * views escape it.
 */
export const fmt = {
  /** First and last name. */
  name(user: Pick<User, "firstName" | "lastName">): string {
    return [user.firstName, user.lastName].filter(Boolean).join(" ");
  },
  /** `2025-01-31 14:05 UTC`, or `fallback` when there is no date. */
  dateTime(value: Date | undefined, fallback = "—"): string {
    if (!(value instanceof Date) || Number.isNaN(value.getTime())) return fallback;
    return `${value.toISOString().slice(0, 16).replace("T", " ")} UTC`;
  },
  /** A custom user field's value in a table cell. */
  value(value: unknown): string {
    if (value === undefined || value === null) return "";
    if (value instanceof Date) {
      return Number.isNaN(value.getTime()) ? "" : value.toISOString().slice(0, 10);
    }
    if (Array.isArray(value)) return value.map((item) => fmt.value(item)).join(", ");
    if (typeof value === "boolean") return value ? "yes" : "no";
    if (typeof value === "object") return JSON.stringify(value);
    return String(value);
  },
  /** A path segment (role and action names in links). */
  segment(value: string): string {
    return encodeURIComponent(value);
  },
  /** `1 user`, `3 users`. */
  count(n: number, one: string, many = `${one}s`): string {
    return `${n.toLocaleString("en")} ${n === 1 ? one : many}`;
  },
};

export type Fmt = typeof fmt;
