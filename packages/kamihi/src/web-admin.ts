import type { AdminServer } from "@kamihi/admin";
import { isKamihiError, type Settings } from "@kamihi/core";
import type { Runtime } from "./compose.js";

/** The web admin (Fastify and its plugins), imported only when it runs: one import per process. */
let admin: Promise<typeof import("@kamihi/admin")> | undefined;
export function loadWebAdmin(): Promise<typeof import("@kamihi/admin")> {
  admin ??= import("@kamihi/admin");
  return admin;
}

/**
 * Starts the web admin beside the bot (`web.enabled`), and `/admin` with it; its close goes on
 * the runtime's stack. A failure (the port is taken) is logged with what to do, and the bot
 * runs without its admin. With the admin elsewhere (`web.enabled: false` and a
 * `web.publicUrl`), `/admin` sends links to it. `running` tells the admin's status page whether
 * this bot still runs.
 */
export async function startWebAdmin(
  runtime: Runtime,
  running: () => boolean,
): Promise<AdminServer | undefined> {
  const { settings, log, store, users, stats, disposers } = runtime;
  if (!settings.web.enabled) {
    if (settings.web.publicUrl !== undefined) {
      const { loginLinks } = await loadWebAdmin();
      runtime.adminLink = loginLinks(store, settings.web.publicUrl, { clock: runtime.clock });
    }
    return undefined;
  }
  try {
    const { createAdmin } = await loadWebAdmin();
    const server = await createAdmin({
      users,
      actions: runtime.registry,
      store,
      logger: log.child({ component: "admin" }),
      clock: runtime.clock,
      ...webOptions(settings),
      status: () => ({ username: runtime.me.username, running: running(), store: store.kind }),
      stats: () => stats.read(),
      errors: () => stats.recentErrors(),
    });
    const url = await server.listen();
    disposers.defer("the web admin", () => server.close());
    runtime.adminLink = (telegramId) => server.loginLink(telegramId);
    log.info({ url }, "the web admin is listening; admins send /admin to the bot to sign in");
    return server;
  } catch (error) {
    log.error(
      { err: error },
      isKamihiError(error)
        ? error.message
        : "the web admin could not start; the bot runs without it",
    );
    return undefined;
  }
}

/** The `web` settings as the admin's options (absent values left to its defaults). */
export function webOptions(settings: Settings) {
  const { host, port, publicUrl, sessionSecret, passwordHash, trustProxy } = settings.web;
  return {
    host,
    port,
    trustProxy,
    ...(publicUrl === undefined ? {} : { publicUrl }),
    ...(sessionSecret === undefined ? {} : { sessionSecret }),
    ...(passwordHash === undefined ? {} : { passwordHash }),
  };
}
