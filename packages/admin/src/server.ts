import { silentLogger, systemClock } from "@kamihi/core";
import { createAuditWriter } from "./kit/audit.js";
import { createAuth } from "./kit/auth.js";
import { cookieOptions, SESSION_COOKIE } from "./kit/cookies.js";
import { csrfCheck } from "./kit/csrf.js";
import { createKit } from "./kit/kit.js";
import { createRenderer } from "./kit/render.js";
import type { AdminOptions, AdminServer } from "./options.js";
import { actionPages } from "./routes/actions.js";
import { auditPages } from "./routes/audit.js";
import { dashboardPages } from "./routes/dashboard.js";
import { permissionPages } from "./routes/permissions.js";
import { requestPages } from "./routes/requests.js";
import { rolePages } from "./routes/roles.js";
import { signInRoutes } from "./routes/sign-in.js";
import { userPages } from "./routes/users.js";
import { Sessions } from "./sessions.js";
import { sharedCookieSecret } from "./setup/cookie-secret.js";
import { registerErrorPages } from "./setup/error-pages.js";
import { adminFastify } from "./setup/fastify.js";
import { adminServer } from "./setup/listen.js";
import { registerSecurity } from "./setup/security.js";
import { registerViews } from "./setup/views.js";
import { SignedInUsers } from "./signed-in-users.js";

/** The pages behind the login, each an encapsulated plugin handed the kit. */
const PAGES = [
  dashboardPages,
  userPages,
  rolePages,
  permissionPages,
  actionPages,
  requestPages,
  auditPages,
];

/**
 * The web admin: a Fastify server with server-rendered pages (Eta), that answers nothing but the
 * login and static files without a signed-in admin. See the package README for its security.
 */
export async function createAdmin(options: AdminOptions): Promise<AdminServer> {
  const log = options.logger ?? silentLogger;
  const clock = options.clock ?? systemClock;
  const { users, store } = options;
  const secure = options.publicUrl?.startsWith("https://") === true;
  const loginTtlSeconds = options.loginTtlSeconds ?? 600;
  const cookies = cookieOptions(secure);

  // Sessions and who is behind them.
  const sessions = new Sessions(store, {
    loginTtlSeconds,
    sessionTtlSeconds: options.sessionTtlSeconds ?? 12 * 3600,
    clock,
  });
  await sessions.init();
  const signedInUsers = new SignedInUsers(users, clock);
  const auth = createAuth(sessions, signedInUsers);

  // Fastify with its security plugins, views, and the session and CSRF checks on every route.
  const app = adminFastify(options.trustProxy ?? []);
  const secret = options.sessionSecret ?? (await sharedCookieSecret(store));
  await registerSecurity(app, { secret, secure, clock });
  await registerViews(app);
  app.addHook("onRequest", auth.guard);
  app.addHook("preHandler", csrfCheck(log));

  // The kit every route is handed, the error pages, then the routes.
  const kit = createKit({
    options,
    log,
    renderer: createRenderer(options.status, cookies),
    audit: await createAuditWriter(store, clock),
    endSessionsUnlessAdmin: auth.endSessionsUnlessAdmin,
  });
  registerErrorPages(app, kit);
  await app.register(signInRoutes, {
    kit,
    sessions,
    sessionCookie: { name: SESSION_COOKIE, options: cookies },
    passwordHash: options.passwordHash,
    loginTtlSeconds,
    attemptsPerMinute: options.loginAttemptsPerMinute ?? 10,
    signedIn: auth.signedIn,
    clock,
  });
  for (const pages of PAGES) await app.register(pages, { kit });

  return adminServer(app, {
    host: options.host ?? "127.0.0.1",
    port: options.port ?? 4242,
    publicUrl: options.publicUrl?.replace(/\/+$/, ""),
    secure,
    sessions,
    log,
    onClose: () => signedInUsers.close(),
  });
}
