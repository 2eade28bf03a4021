import type { FastifyInstance, FastifyRequest } from "fastify";
import type { AdminKit } from "../kit/kit.js";
import { TooManySignIns } from "../kit/sign-in-limit.js";

/**
 * The 404 page and the error page, set on the root instance before the routes so that every
 * route plugin inherits them. Only faults of the server are errors in the log; what a client
 * got wrong is a line at most.
 */
export function registerErrorPages(app: FastifyInstance, kit: AdminKit): void {
  const { log } = kit;
  app.setNotFoundHandler(async (request, reply) => {
    log.debug({ method: request.method, path: loggedPath(request) }, "no such admin page");
    return kit.render(request, reply.code(404), "error.eta", "Not found", {
      message: "There is no such page.",
    });
  });
  app.setErrorHandler(async (error, request, reply) => {
    const route = request.routeOptions.url ?? loggedPath(request);
    if (error instanceof TooManySignIns) {
      log.warn(
        { route, ip: request.ip, limit: `${error.max} sign-in attempts a minute` },
        "too many sign-in attempts from one address: refused until the minute is over",
      );
      return kit.render(request, reply.code(429), "error.eta", "Too many attempts", {
        message: error.message,
      });
    }
    const given = (error as { statusCode?: unknown }).statusCode;
    const status = typeof given === "number" && given >= 400 && given < 600 ? given : 500;
    if (status >= 500) {
      log.error({ err: error, method: request.method, route }, "an admin page failed");
    } else {
      // A body Fastify could not parse, a wrong content type, too large…: the client's doing.
      log.info(
        { method: request.method, route, status, code: (error as { code?: unknown }).code },
        "an admin request was refused",
      );
    }
    return kit.render(request, reply.code(status), "error.eta", "Error", {
      message:
        status < 500
          ? (error as Error).message
          : "Something went wrong; the error is in the bot's log.",
    });
  });
}

/** A request's path for the log: no query, and never a login link's token. */
function loggedPath(request: FastifyRequest): string {
  const path = request.url.split("?")[0] ?? "/";
  return path.startsWith("/login/") ? "/login/…" : path;
}
