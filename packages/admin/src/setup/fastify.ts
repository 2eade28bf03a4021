import { KamihiError } from "@kamihi/core";
import Fastify, { type FastifyInstance } from "fastify";

/**
 * The Fastify instance, trusting `X-Forwarded-For` from `trustProxy` only. A list Fastify
 * cannot read is a settings mistake, told as one.
 */
export function adminFastify(trustProxy: readonly string[]): FastifyInstance {
  try {
    return Fastify({
      logger: false,
      bodyLimit: 256 * 1024,
      trustProxy: trustProxy.length === 0 ? false : [...trustProxy],
    });
  } catch (error) {
    throw new KamihiError(
      "KAMIHI_CONFIG_INVALID",
      `web.trustProxy: expected IPs, CIDR ranges (10.0.0.0/8) or loopback, linklocal, uniquelocal, got ${JSON.stringify(trustProxy)} (${(error as Error).message}).`,
      { cause: error },
    );
  }
}
