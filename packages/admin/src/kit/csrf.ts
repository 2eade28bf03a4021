import type { Logger } from "@kamihi/core";
import type { FastifyReply, FastifyRequest } from "fastify";
import { sameSecret } from "./secrets.js";

/**
 * The `preHandler` hook that refuses (403) a state-changing request of a signed-in admin
 * without the session's CSRF token. The sign-in confirmation, before any session, has its own
 * double-submit cookie (see `routes/sign-in.ts`).
 */
export function csrfCheck(log: Logger) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    if (request.method !== "POST" || request.admin === undefined) return undefined;
    const body = (request.body ?? {}) as Record<string, unknown>;
    const given = typeof body._csrf === "string" ? body._csrf : "";
    if (sameSecret(given, request.admin.session.csrf)) return undefined;
    log.warn(
      { path: request.url, by: request.admin.user.telegramId },
      "admin request without a valid CSRF token refused",
    );
    return reply
      .code(403)
      .type("text/plain")
      .send("This form has expired: go back, reload the page and try again.");
  };
}
