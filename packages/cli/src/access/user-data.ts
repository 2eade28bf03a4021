import { KamihiError, type UserField } from "@kamihi/core";

/**
 * Custom data from `--data key=value`, typed by the project's user fields. A value that does
 * not fit its field's type is passed on as text, so the user model's validation names it.
 */
export function parseUserData(
  pairs: readonly string[],
  fields: readonly UserField[],
): Record<string, unknown> {
  const data: Record<string, unknown> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    if (eq <= 0) {
      throw new KamihiError("KAMIHI_CLI_USAGE", `--data expects key=value, got "${pair}".`);
    }
    const key = pair.slice(0, eq).trim();
    const raw = pair.slice(eq + 1);
    const field = fields.find((f) => f.name === key);
    if (fields.length > 0 && field === undefined) {
      throw new KamihiError(
        "KAMIHI_CLI_USAGE",
        `--data: the user model has no field "${key}". Fields: ${fields.map((f) => f.name).join(", ")}.`,
      );
    }
    data[key] = coerce(raw, field?.type);
  }
  return data;
}

function coerce(raw: string, type: UserField["type"] | undefined): unknown {
  switch (type) {
    case "integer":
    case "number":
      return /^\s*[+-]?(\d+(\.\d*)?|\.\d+)\s*$/.test(raw) ? Number(raw) : raw;
    case "boolean":
      return raw === "true" ? true : raw === "false" ? false : raw;
    case "date": {
      const date = new Date(raw);
      return Number.isNaN(date.getTime()) ? raw : date;
    }
    case "list":
      return raw === "" ? [] : raw.split(",").map((item) => item.trim());
    default:
      return raw;
  }
}
