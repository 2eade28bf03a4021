import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import fastifyCookie from "@fastify/cookie";
import fastifyFormbody from "@fastify/formbody";
import fastifyHelmet from "@fastify/helmet";
import fastifyRateLimit from "@fastify/rate-limit";
import fastifyStatic from "@fastify/static";
import fastifyView from "@fastify/view";
import {
  type ActionRegistry,
  KamihiError,
  type Logger,
  literal,
  type Store,
  silentLogger,
  type User,
  type UserService,
} from "@kamihi/core";
import { Eta } from "eta";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { fmt } from "./routes/format.js";
import { isActiveAdmin, type Session, Sessions, sameSecret } from "./sessions.js";
import { registerSignIn, TooManySignIns } from "./sign-in.js";
import { SignedInUsers } from "./signed-in-users.js";

/** What the dashboard shows of the bot. */
export interface BotStatus {
  username?: string;
  running: boolean;
  /** `memory`, `mongodb`… */
  store: string;
}

/** How often an action ran, for the actions page. */
export interface ActionStat {
  action: string;
  runs: number;
  lastRunAt?: Date;
}

/** An error the bot logged, for the dashboard. */
export interface RecentError {
  at: Date;
  action?: string;
  message: string;
}

/** Options of {@link createAdmin}. */
export interface AdminOptions {
  users: UserService;
  actions: ActionRegistry;
  /** Sessions, login links and the audit log live here. */
  store: Store;
  logger?: Logger;
  /** Default `127.0.0.1`: only this machine. */
  host?: string;
  /** Default `4242`; `0` picks a free port (tests). */
  port?: number;
  /** The URL people reach the admin at; login links are built from it. */
  publicUrl?: string;
  /** Signs cookies; when absent one is made and kept in the store (shared by instances). */
  sessionSecret?: string;
  /** `scrypt$salt$hash` (see `hashPassword`): enables the password form for admins. */
  passwordHash?: string;
  /** How long a login link works. Default 600 s. */
  loginTtlSeconds?: number;
  /**
   * Sign-in attempts allowed per client address and minute, counted over every sign-in route
   * together (login links, their confirmation, the password form). Default 10.
   */
  loginAttemptsPerMinute?: number;
  /**
   * Proxies in front of the admin whose `X-Forwarded-For` is believed: IPs, CIDR ranges
   * (`10.0.0.0/8`) or `loopback`, `linklocal`, `uniquelocal` (Fastify's `trustProxy`). The
   * client's address drives the sign-in rate limit and the audit log. Default `[]`: the
   * connecting address counts and `X-Forwarded-For` is ignored, so no client can pick its own.
   */
  trustProxy?: string[];
  /** How long a session lasts. Default 12 h. */
  sessionTtlSeconds?: number;
  status?: () => BotStatus;
  stats?: () => Promise<readonly ActionStat[]>;
  errors?: () => Promise<readonly RecentError[]>;
}

/** A started (or ready to start) admin. */
export interface AdminServer {
  /** The Fastify instance (tests use `inject`). */
  readonly app: FastifyInstance;
  /** Starts listening; resolves with the URL it listens on. */
  listen(): Promise<string>;
  /** The base URL of login links: `publicUrl`, or where it listens. */
  readonly url: string;
  /** A single-use login link for an admin (the bot's `/admin` command sends it). */
  loginLink(telegramId: number): Promise<string>;
  close(): Promise<void>;
}

/** One line of the audit log. */
export interface AuditEntry extends Record<string, unknown> {
  at: Date;
  /** The admin's Telegram id and name. */
  by: number;
  byName: string;
  /** What was done, e.g. `user.block`. */
  what: string;
  /** What it was done to, e.g. `123456789` or `staff`. */
  target: string;
  details?: string;
  /** The client's address (behind a trusted proxy, the address it forwarded). */
  ip?: string;
}

declare module "fastify" {
  interface FastifyRequest {
    /** The signed-in admin's session and user, on every route behind the login. */
    admin?: { session: Session; user: User; sessionId: string };
  }
}

const COOKIE = "kamihi_admin";
const FLASH = "kamihi_flash";
const VIEWS = fileURLToPath(new URL("../views/", import.meta.url));
const PUBLIC = fileURLToPath(new URL("../public/", import.meta.url));
/** Routes that answer without a session. */
const OPEN = /^\/(login(\/[^/]*)?|static\/.*|favicon\.ico)$/;

/** What every page gets: who is signed in, the CSRF token, the flash message, the bot. */
export interface PageContext {
  title: string;
  me?: User;
  csrf?: string;
  flash?: { kind: "ok" | "error"; text: string };
  path: string;
  bot?: BotStatus;
}

/** Helpers the page routes use; see `routes/`. */
export interface AdminKit {
  users: UserService;
  actions: ActionRegistry;
  store: Store;
  log: Logger;
  options: AdminOptions;
  /** Renders `view` (under views/) inside the layout, with the page context. */
  render(
    request: FastifyRequest,
    reply: FastifyReply,
    view: string,
    title: string,
    data?: Record<string, unknown>,
  ): Promise<FastifyReply>;
  /** Redirects (303) with a flash message shown on the next page. */
  redirect(
    reply: FastifyReply,
    to: string,
    flash?: { kind: "ok" | "error"; text: string },
  ): FastifyReply;
  /** Writes a line of the audit log for the signed-in admin (or `by`, who is signing in). */
  audit(
    request: FastifyRequest,
    what: string,
    target: string,
    details?: string,
    by?: User,
  ): Promise<void>;
  /**
   * Ends every admin session of `telegramId` unless `user` (as it is now; `null` when deleted)
   * is still an active admin. Every change of a user calls it, and so does the session check
   * of every request: rights taken away, whichever way, end the sessions one way.
   */
  endSessionsUnlessAdmin(telegramId: number, user: User | null): Promise<void>;
}

/**
 * The web admin: a Fastify server with server-rendered pages (Eta), that answers nothing but the
 * login and static files without a signed-in admin. See the package README for its security.
 */
export async function createAdmin(options: AdminOptions): Promise<AdminServer> {
  const log = options.logger ?? silentLogger;
  const { users, store } = options;
  const host = options.host ?? "127.0.0.1";
  const loginTtlSeconds = options.loginTtlSeconds ?? 600;
  const sessions = new Sessions(store, {
    loginTtlSeconds,
    sessionTtlSeconds: options.sessionTtlSeconds ?? 12 * 3600,
  });
  await sessions.init();
  const auditLog = store.collection<AuditEntry>("audit");
  await auditLog.createIndex({ keys: { at: -1 } });
  const secret = options.sessionSecret ?? (await sharedSecret(store));
  const secure = options.publicUrl?.startsWith("https://") === true;

  const app = adminFastify(options.trustProxy ?? []);
  await app.register(fastifyCookie, { secret });
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
    strictTransportSecurity: secure,
  });
  await app.register(fastifyRateLimit, { global: false });
  await app.register(fastifyStatic, { root: PUBLIC, prefix: "/static/", decorateReply: false });
  await app.register(fastifyView, {
    engine: { eta: new Eta({ views: VIEWS, autoEscape: true, cache: true }) },
    root: VIEWS,
    // The views ship with the package: compiled once, not read and compiled for every page
    // (@fastify/view otherwise turns Eta's cache off unless NODE_ENV is production).
    production: true,
  });

  const cookieOptions = {
    path: "/",
    httpOnly: true,
    sameSite: "lax" as const,
    secure,
    signed: true,
  };

  const signedInUsers = new SignedInUsers(users);

  async function endSessionsUnlessAdmin(telegramId: number, user: User | null) {
    if (isActiveAdmin(user)) return;
    await sessions.closeAll(telegramId);
  }

  /** The session behind the request's cookie, and its user, if both are still valid. */
  async function signedIn(request: FastifyRequest) {
    const raw = request.cookies[COOKIE];
    if (raw === undefined) return undefined;
    const unsigned = request.unsignCookie(raw);
    if (!unsigned.valid || unsigned.value === null) return undefined;
    const session = await sessions.find(unsigned.value);
    if (session === undefined) return undefined;
    const user = await signedInUsers.get(session.telegramId);
    // Changed outside the admin (the CLI, the bot's code, another instance): ends here.
    if (!isActiveAdmin(user)) {
      await endSessionsUnlessAdmin(session.telegramId, user);
      return undefined;
    }
    return { session, user, sessionId: unsigned.value };
  }

  app.addHook("onRequest", async (request, reply) => {
    const path = request.url.split("?")[0] ?? "/";
    if (OPEN.test(path)) return;
    const admin = await signedIn(request);
    if (admin === undefined) {
      if (request.method === "GET" || request.method === "HEAD") {
        return reply.redirect("/login", 303);
      }
      return reply.code(401).type("text/plain").send("Sign in first: send /admin to the bot.");
    }
    request.admin = admin;
  });

  // Every state-changing request carries the session's CSRF token.
  app.addHook("preHandler", async (request, reply) => {
    if (request.method !== "POST" || request.admin === undefined) return;
    const body = (request.body ?? {}) as Record<string, unknown>;
    const given = typeof body._csrf === "string" ? body._csrf : "";
    if (!sameSecret(given, request.admin.session.csrf)) {
      log.warn(
        { path: request.url, by: request.admin.user.telegramId },
        "admin request without a valid CSRF token refused",
      );
      return reply
        .code(403)
        .type("text/plain")
        .send("This form has expired: go back, reload the page and try again.");
    }
  });

  const kit: AdminKit = {
    users,
    actions: options.actions,
    store,
    log,
    options,
    async render(request, reply, view, title, data = {}) {
      const flash = readFlash(request, reply);
      const context: PageContext = {
        title,
        path: request.url.split("?")[0] ?? "/",
        ...(request.admin === undefined
          ? {}
          : { me: request.admin.user, csrf: request.admin.session.csrf }),
        ...(flash === undefined ? {} : { flash }),
        ...(options.status === undefined ? {} : { bot: options.status() }),
      };
      return reply.type("text/html; charset=utf-8").view(view, { ...context, ...data });
    },
    redirect(reply, to, flash) {
      if (flash !== undefined) {
        reply.setCookie(FLASH, JSON.stringify(flash), { ...cookieOptions, maxAge: 60 });
      }
      return reply.redirect(to, 303);
    },
    async audit(request, what, target, details, by = request.admin?.user) {
      if (by === undefined) return;
      await auditLog.insertOne({
        at: new Date(),
        by: by.telegramId,
        byName: fmt.name(by),
        what,
        target,
        ...(details === undefined ? {} : { details }),
        ip: request.ip,
      });
    },
    endSessionsUnlessAdmin,
  };

  function readFlash(
    request: FastifyRequest,
    reply: FastifyReply,
  ): { kind: "ok" | "error"; text: string } | undefined {
    const raw = request.cookies[FLASH];
    if (raw === undefined) return undefined;
    reply.clearCookie(FLASH, { path: "/" });
    const unsigned = request.unsignCookie(raw);
    if (!unsigned.valid || unsigned.value === null) return undefined;
    try {
      const parsed = JSON.parse(unsigned.value) as { kind?: unknown; text?: unknown };
      if ((parsed.kind === "ok" || parsed.kind === "error") && typeof parsed.text === "string") {
        return { kind: parsed.kind, text: parsed.text };
      }
    } catch {
      // a tampered or old cookie: no message
    }
    return undefined;
  }

  registerSignIn(app, {
    kit,
    sessions,
    sessionCookie: { name: COOKIE, options: cookieOptions },
    passwordHash: options.passwordHash,
    loginTtlSeconds,
    attemptsPerMinute: options.loginAttemptsPerMinute ?? 10,
    signedIn,
  });

  const { registerPages } = await import("./routes/index.js");
  await registerPages(app, kit);

  // Only faults of the server are errors in the log; what a client got wrong is a line at most.
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

  let listening = "";
  const server: AdminServer = {
    app,
    get url() {
      return options.publicUrl?.replace(/\/+$/, "") ?? listening;
    },
    async listen() {
      try {
        await app.listen({ host, port: options.port ?? 4242 });
      } catch (error) {
        const code = (error as { code?: string }).code;
        throw new KamihiError(
          "KAMIHI_WEB_UNAVAILABLE",
          code === "EADDRINUSE"
            ? `The web admin could not listen on ${host}:${options.port ?? 4242}: the port is taken. Set web.port (KAMIHI_WEB__PORT) to a free port, or web.enabled: false.`
            : `The web admin could not listen on ${host}:${options.port ?? 4242}: ${(error as Error).message}`,
          { cause: error },
        );
      }
      const address = app.server.address();
      const port = typeof address === "object" && address !== null ? address.port : options.port;
      listening = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
      if (!["127.0.0.1", "localhost", "::1"].includes(host) && !secure) {
        log.warn(
          { host },
          "the web admin listens beyond this machine without an https web.publicUrl: put it behind TLS and set web.publicUrl",
        );
      }
      return listening;
    },
    async loginLink(telegramId) {
      const token = await sessions.issueLoginToken(telegramId);
      return `${server.url}/login/${token}`;
    },
    async close() {
      signedInUsers.close();
      await app.close();
    },
  };
  return server;
}

/**
 * The Fastify instance, trusting `X-Forwarded-For` from `trustProxy` only. A list Fastify
 * cannot read is a settings mistake, told as one.
 */
function adminFastify(trustProxy: readonly string[]): FastifyInstance {
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

/** A request's path for the log: no query, and never a login link's token. */
function loggedPath(request: FastifyRequest): string {
  const path = request.url.split("?")[0] ?? "/";
  return path.startsWith("/login/") ? "/login/…" : path;
}

/** A cookie secret kept in the store, so every instance (and restart) signs alike. */
async function sharedSecret(store: Store): Promise<string> {
  const secrets = store.collection<{ name: string; value: string }>("secrets");
  await secrets.createIndex({ keys: { name: 1 }, unique: true });
  const doc = await secrets.findOneAndUpdate(
    { name: "admin-cookies" },
    { $setOnInsert: { value: randomBytes(32).toString("base64url") } },
    { upsert: true },
  );
  const found = doc ?? (await secrets.findOne({ name: literal("admin-cookies") }));
  if (found === null)
    throw new KamihiError("KAMIHI_INTERNAL_BUG", "The admin cookie secret could not be kept.");
  return found.value;
}
