import fastifyCookie from "@fastify/cookie";
import fastifyFormbody from "@fastify/formbody";
import fastifyHelmet from "@fastify/helmet";
import fastifyRateLimit from "@fastify/rate-limit";
import type { Clock } from "@kamihi/core";
import type { FastifyInstance } from "fastify";
import { rateLimitOptions } from "../kit/sign-in-limit.js";

/**
 * Cookies (signed with `secret`), form bodies, the security headers (a Content-Security-Policy
 * that allows the admin's own files only; HSTS behind https) and the rate limiter the sign-in
 * routes use, timed by `clock`. Registered on the root instance: every route gets them.
 */
export async function registerSecurity(
  app: FastifyInstance,
  options: { secret: string; secure: boolean; clock: Clock },
): Promise<void> {
  await app.register(fastifyCookie, { secret: options.secret });
  await app.register(fastifyFormbody);
  await app.register(fastifyHelmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", "data:"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
        objectSrc: ["'none'"],
      },
    },
    strictTransportSecurity: options.secure,
  });
  await app.register(fastifyRateLimit, rateLimitOptions(options.clock));
}
