import type { FastifyReply, FastifyRequest } from "fastify";
import * as v from "valibot";
import type { AdminKit } from "./kit.js";

/** A form body (or query string) as Fastify parses it: names to one text or several. */
export type FormFields = Record<string, string | string[]>;

/** Messages per field name (`firstName`, `data.plan`); `""` is the whole form. */
export type FieldErrors = Record<string, string>;

/** What a form looked like when it was sent, to show it again with its errors. */
export interface FormState {
  values: Record<string, string | string[] | undefined>;
  errors: FieldErrors;
  /** A problem that belongs to no one field. */
  formError?: string;
}

/**
 * Names a browser form can send. A `$` (an operator, also in `role[$ne]`), brackets (nested
 * objects) and prototype names are never ours, so a body holding one is refused as a whole.
 */
const NAME = /^(?!__proto__$|constructor$|prototype$)[^$[\]]{1,200}$/;

const BODY = v.record(
  v.pipe(v.string(), v.regex(NAME)),
  v.union([
    v.pipe(v.string(), v.maxLength(20_000)),
    v.pipe(v.array(v.string()), v.maxLength(10_000)),
  ]),
);

/**
 * The fields of a form body or query string when it is what a browser sends: plain names to
 * texts. Anything else (a JSON object, a value that is an object, an operator-like name) gives
 * `undefined`, and the request is refused before any value can reach a query.
 */
export function formFields(body: unknown): FormFields | undefined {
  if (body === undefined || body === null) return {};
  if (typeof body !== "object" || Array.isArray(body)) return undefined;
  const result = v.safeParse(BODY, body);
  return result.success ? result.output : undefined;
}

/** Answers 400 for a body or query no page of ours sends (see {@link formFields}). */
export function refuseForm(
  kit: AdminKit,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply> {
  kit.log.warn({ path: request.url }, "an admin request with fields no form sends was refused");
  return kit.render(request, reply.code(400), "error.eta", "Bad request", {
    message:
      "This request holds fields that no page of the admin sends, so nothing was changed. Go back, reload the page and try again.",
  });
}

/** Validates form fields with `schema`; issues become messages per field name. */
export function parseForm<S extends v.GenericSchema<FormFields, unknown>>(
  schema: S,
  fields: FormFields,
): { ok: true; value: v.InferOutput<S> } | { ok: false; errors: FieldErrors } {
  const result = v.safeParse(schema, fields);
  if (result.success) return { ok: true, value: result.output };
  const errors: FieldErrors = {};
  for (const issue of result.issues) {
    const key = v.getDotPath(issue) ?? "";
    errors[key] ??= issue.message;
  }
  return { ok: false, errors };
}

// ---- field schemas --------------------------------------------------------------------------

/** An optional text, trimmed; absent gives `""`. */
export function optionalText(max: number) {
  return v.pipe(
    v.optional(v.string("Enter this once only."), ""),
    v.trim(),
    v.maxLength(max, `Use at most ${max} characters.`),
  );
}

/** A required text, trimmed. */
export function requiredText(max: number, message: string) {
  return v.pipe(optionalText(max), v.nonEmpty(message));
}

/**
 * A checkbox: `true` when ticked (the browser sends its value; ours are never empty), `false`
 * when not (the browser sends nothing). The default is what makes absence `false`: valibot's
 * `object` leaves out an absent key whose optional schema has no default, so a step after it
 * would never run and an unticked box would change nothing.
 */
export const checkbox = v.pipe(
  v.optional(v.string("Tick this once only."), ""),
  v.transform((value) => value !== ""),
);

/** Checkboxes sharing a name: none (nothing sent: `[]`), one or several values. */
export const checkboxes = v.pipe(
  v.optional(v.union([v.string(), v.array(v.string())]), []),
  v.transform((value) => (typeof value === "string" ? [value] : value)),
);

/** A Telegram user id typed into a form. */
export const telegramIdField = v.pipe(
  v.optional(v.string("Enter one Telegram id."), ""),
  v.trim(),
  v.nonEmpty("Enter the person's Telegram id."),
  v.regex(/^\d{1,16}$/, "A Telegram id has digits only, e.g. 123456789."),
  v.transform(Number),
  v.safeInteger("This number is too large for a Telegram id."),
  v.minValue(1, "A Telegram id is a positive number."),
);

/** The `after` cursor of a users page: the last Telegram id of the page before. */
export const afterCursor = v.optional(
  v.pipe(
    v.string(),
    v.regex(/^\d{1,16}$/, "This page link is broken."),
    v.check((value) => Number.isSafeInteger(Number(value)), "This page link is broken."),
  ),
);

/** A Telegram id from a URL (`/users/:id`), or `undefined` (the page answers 404). */
export function telegramIdParam(raw: string): number | undefined {
  if (!/^\d{1,16}$/.test(raw)) return undefined;
  const id = Number(raw);
  return Number.isSafeInteger(id) && id > 0 ? id : undefined;
}

/** Role names as `@kamihi/users` accepts them. */
export const ROLE_NAME = /^[\p{L}\p{N}_.-]{1,64}$/u;
