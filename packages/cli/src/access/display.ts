import type { ActionRegistry, User } from "@kamihi/core";
import { printable } from "../output.js";

// How the access commands show users, grants and data on the terminal.

/** `Ada Lovelace (42)`, safe to print. */
export function describeUser(user: User): string {
  return `${fullName(user)} (${user.telegramId})`;
}

/** First and last name, safe to print. */
export function fullName(user: User): string {
  return printable([user.firstName, user.lastName].filter(Boolean).join(" "));
}

/** A custom data value in a table cell: dates as ISO text, the rest as text or JSON. */
export function showData(value: unknown): string {
  if (value instanceof Date) return value.toISOString();
  if (typeof value === "string") return printable(value);
  return printable(JSON.stringify(value) ?? "");
}

/** JSON for the terminal: the C1 controls and DEL, which JSON leaves raw, are escaped too. */
export function json(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(
    /[\u007f-\u009f]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/** Who may run an action now, in words: public actions stay open to everyone. */
export function runBy(
  actions: ActionRegistry,
  action: string,
  users: readonly number[],
  roles: readonly string[],
): string {
  if (actions.get(action)?.public === true) {
    return "is public: everyone may run it (grants matter only if it stops being public)";
  }
  if (users.length + roles.length === 0) return "may now be run by admins only";
  return `may now be run by admins and ${who(users, roles)}`;
}

/** `roles ops, staff and user 42`: the roles and users of a grant. */
export function who(users: readonly number[], roles: readonly string[]): string {
  const parts = [
    ...(roles.length ? [`role${roles.length > 1 ? "s" : ""} ${roles.join(", ")}`] : []),
    ...(users.length ? [`user${users.length > 1 ? "s" : ""} ${users.join(", ")}`] : []),
  ];
  return parts.join(" and ") || "nobody but admins";
}
