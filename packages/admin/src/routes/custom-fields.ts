import type { User, UserField } from "@kamihi/core";
import { fmt } from "../kit/format.js";
import type { FieldErrors, FormFields, FormState } from "../kit/forms.js";

/** The form name of a custom user field. */
const dataKey = (name: string) => `data.${name}`;

/**
 * The custom user fields of a form, converted to their types (numbers, booleans, dates,
 * lists), on top of `base` (the user's current data, so fields the form does not show are
 * kept). The project's schema validates the result when it is saved.
 */
export function readCustomFields(
  fields: readonly UserField[],
  form: FormFields,
  base: Record<string, unknown>,
): { data: Record<string, unknown>; errors: FieldErrors } {
  const data: Record<string, unknown> = { ...base };
  const errors: FieldErrors = {};
  for (const field of fields) {
    if (field.type === "unknown") continue;
    const key = dataKey(field.name);
    const raw = form[key];
    if (Array.isArray(raw)) {
      errors[key] = "Enter one value.";
      continue;
    }
    if (field.type === "boolean") {
      data[field.name] = raw !== undefined;
      continue;
    }
    const text = (raw ?? "").trim();
    if (text === "") {
      if (field.optional) delete data[field.name];
      else if (field.type === "list") data[field.name] = [];
      else if (field.type === "string") data[field.name] = "";
      else errors[key] = "Fill this in.";
      continue;
    }
    const read = convert(field, text);
    if ("error" in read) errors[key] = read.error;
    else data[field.name] = read.value;
  }
  return { data, errors };
}

function convert(field: UserField, text: string): { value: unknown } | { error: string } {
  switch (field.type) {
    case "number": {
      const value = Number(text);
      return Number.isFinite(value) ? { value } : { error: "Enter a number, e.g. 2.5." };
    }
    case "integer": {
      const value = Number(text);
      return /^[-+]?\d{1,16}$/.test(text) && Number.isSafeInteger(value)
        ? { value }
        : { error: "Enter a whole number, e.g. 3." };
    }
    case "date": {
      const value = new Date(`${text}T00:00:00.000Z`);
      return /^\d{4}-\d{2}-\d{2}$/.test(text) && !Number.isNaN(value.getTime())
        ? { value }
        : { error: "Enter a date as YYYY-MM-DD." };
    }
    case "choice":
      return field.options?.includes(text) === true
        ? { value: text }
        : { error: `Choose one of: ${(field.options ?? []).join(", ")}.` };
    case "list":
      return {
        value: text
          .split(",")
          .map((item) => item.trim())
          .filter((item) => item !== ""),
      };
    default:
      return { value: text };
  }
}

/** What the edit form shows of a user before anything was typed. */
export function valuesOf(user: User, fields: readonly UserField[]): FormState["values"] {
  const values: FormState["values"] = {
    firstName: user.firstName,
    lastName: user.lastName ?? "",
    username: user.username ?? "",
    roles: user.roles,
    ...(user.isAdmin ? { isAdmin: "on" } : {}),
  };
  for (const field of fields) {
    const value = user.data[field.name];
    if (field.type === "boolean") {
      if (value === true) values[dataKey(field.name)] = "on";
    } else if (field.type === "date" && typeof value === "string") {
      values[dataKey(field.name)] = value.slice(0, 10);
    } else {
      values[dataKey(field.name)] = fmt.value(value);
    }
  }
  return values;
}
