import type { NewUser, TelegramUser, UserStatus, ValidationIssue } from "@kamihi/core";
import { invalid } from "./fields.js";

/** Every status a user can have. */
export const STATUSES: readonly UserStatus[] = ["active", "blocked", "pending"];

/**
 * A Telegram user id as given by a caller: a positive safe integer, never an object that could
 * act as a query operator. Throws `KAMIHI_USER_INVALID` naming `telegramId`.
 */
export function checkId(value: unknown): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value <= 0) {
    throw invalid(undefined, [
      {
        path: "telegramId",
        message: "expected a Telegram user id (a positive integer)",
        received: JSON.stringify(value) ?? String(value),
      },
    ]);
  }
  return value;
}

/** The problems of a new user's name fields (all of them, so one error lists every one). */
export function checkProfile(input: NewUser): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  if (typeof input.firstName !== "string" || input.firstName.trim() === "") {
    issues.push({ path: "firstName", message: "expected a non-empty text" });
  }
  for (const key of ["lastName", "username", "languageCode"] as const) {
    if (input[key] !== undefined && typeof input[key] !== "string") {
      issues.push({ path: key, message: "expected a text" });
    }
  }
  return issues;
}

/** The optional name fields, trimmed, without a username's `@`; empty ones left out. */
export function optionalProfile(input: Pick<NewUser, "lastName" | "username" | "languageCode">) {
  return {
    ...(input.lastName?.trim() ? { lastName: input.lastName.trim() } : {}),
    ...(input.username?.trim() ? { username: input.username.trim().replace(/^@/, "") } : {}),
    ...(input.languageCode?.trim() ? { languageCode: input.languageCode.trim() } : {}),
  };
}

/** A user's profile as Telegram sends it with every update. */
export interface Profile {
  telegramId: number;
  firstName: string;
  lastName?: string;
  username?: string;
  languageCode?: string;
}

/** The profile of an update's sender, in the shape users are stored in. */
export function profileOf(from: TelegramUser): Profile {
  return {
    telegramId: from.id,
    firstName: from.first_name,
    ...optionalProfile({
      ...(from.last_name === undefined ? {} : { lastName: from.last_name }),
      ...(from.username === undefined ? {} : { username: from.username }),
      ...(from.language_code === undefined ? {} : { languageCode: from.language_code }),
    }),
  };
}
