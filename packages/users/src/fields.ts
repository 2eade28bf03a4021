import {
  KamihiValidationError,
  type StandardSchemaV1,
  type UserField,
  type ValidationIssue,
} from "@kamihi/core";

/** A project's user schema: any Standard Schema (valibot, zod, arktype) of an object. */
export type UserSchema = StandardSchemaV1<Record<string, unknown>, Record<string, unknown>>;

/**
 * Validates custom user data with the project's schema. Returns the schema's output (with its
 * defaults applied); throws `KAMIHI_USER_INVALID` listing every problem.
 */
export async function validateData(
  schema: UserSchema | undefined,
  data: unknown,
  telegramId: number,
): Promise<Record<string, unknown>> {
  if (schema === undefined) {
    if (data === undefined) return {};
    if (data === null || typeof data !== "object" || Array.isArray(data)) {
      throw invalid(telegramId, [{ path: "data", message: "expected an object" }]);
    }
    return data as Record<string, unknown>;
  }
  const result = await schema["~standard"].validate(data ?? {});
  if (result.issues === undefined) return result.value;
  throw invalid(
    telegramId,
    result.issues.map((issue) => ({
      path: [
        "data",
        ...(issue.path ?? []).map((p) => String(typeof p === "object" ? p.key : p)),
      ].join("."),
      message: issue.message,
    })),
  );
}

export function invalid(telegramId: number | undefined, issues: ValidationIssue[]) {
  return new KamihiValidationError(
    "KAMIHI_USER_INVALID",
    `The user${telegramId === undefined ? "" : ` ${telegramId}`} was not saved; fix these fields:`,
    issues,
  );
}

interface SchemaNode {
  type?: unknown;
  entries?: Record<string, SchemaNode>;
  wrapped?: SchemaNode;
  options?: readonly unknown[];
  pipe?: readonly SchemaNode[];
}

const WRAPPERS = new Set(["optional", "nullish", "exact_optional", "nullable", "undefinedable"]);

/**
 * The fields of a valibot object schema, for forms and listings. Other schema libraries work for
 * validation; their fields show as one `unknown` list until they are described here.
 */
export function describeFields(schema: UserSchema | undefined): UserField[] {
  const root = schema as SchemaNode | undefined;
  if (root?.type !== "object" && root?.type !== "strict_object" && root?.type !== "loose_object") {
    return [];
  }
  return Object.entries(root.entries ?? {}).map(([name, node]) => {
    let current = node;
    let optional = false;
    while (WRAPPERS.has(String(current.type)) && current.wrapped !== undefined) {
      optional = true;
      current = current.wrapped;
    }
    return { name, optional, ...fieldType(current) };
  });
}

function fieldType(node: SchemaNode): Pick<UserField, "type" | "options"> {
  switch (node.type) {
    case "string":
      return { type: "string" };
    case "number":
      return {
        type: node.pipe?.some((step) => step.type === "integer") === true ? "integer" : "number",
      };
    case "boolean":
      return { type: "boolean" };
    case "date":
      return { type: "date" };
    case "picklist":
      return { type: "choice", options: (node.options ?? []).map(String) };
    case "array":
      return { type: "list" };
    default:
      return { type: "unknown" };
  }
}
