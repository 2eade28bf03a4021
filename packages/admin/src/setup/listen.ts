import { KamihiError, type Logger } from "@kamihi/core";
import type { FastifyInstance } from "fastify";
import type { AdminServer } from "../options.js";
import type { Sessions } from "../sessions.js";

/** What {@link adminServer} needs besides the Fastify instance. */
export interface ServerParts {
  host: string;
  port: number;
  /** `publicUrl` without its trailing slashes, if set. */
  publicUrl: string | undefined;
  /** Whether people reach the admin over https (`publicUrl`). */
  secure: boolean;
  sessions: Sessions;
  log: Logger;
  /** Lets go of what is not Fastify's (the signed-in users' cache) as the admin closes. */
  onClose(): void;
}

/**
 * The admin as its user holds it: listening (a taken port is a `KAMIHI_WEB_UNAVAILABLE` that
 * says what to change), login links built from `publicUrl` or where it listens, and closing.
 */
export function adminServer(app: FastifyInstance, parts: ServerParts): AdminServer {
  const { host, port, log } = parts;
  let listening = "";
  const server: AdminServer = {
    app,
    get url() {
      return parts.publicUrl ?? listening;
    },
    async listen() {
      try {
        await app.listen({ host, port });
      } catch (error) {
        const code = (error as { code?: string }).code;
        throw new KamihiError(
          "KAMIHI_WEB_UNAVAILABLE",
          code === "EADDRINUSE"
            ? `The web admin could not listen on ${host}:${port}: the port is taken. Set web.port (KAMIHI_WEB__PORT) to a free port, or web.enabled: false.`
            : `The web admin could not listen on ${host}:${port}: ${(error as Error).message}`,
          { cause: error },
        );
      }
      const address = app.server.address();
      const bound = typeof address === "object" && address !== null ? address.port : port;
      listening = `http://${host.includes(":") ? `[${host}]` : host}:${bound}`;
      if (!["127.0.0.1", "localhost", "::1"].includes(host) && !parts.secure) {
        log.warn(
          { host },
          "the web admin listens beyond this machine without an https web.publicUrl: put it behind TLS and set web.publicUrl",
        );
      }
      return listening;
    },
    async loginLink(telegramId) {
      const token = await parts.sessions.issueLoginToken(telegramId);
      return `${server.url}/login/${token}`;
    },
    async close() {
      parts.onClose();
      await app.close();
    },
  };
  return server;
}
