import type { Clock, User } from "@kamihi/core";
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import type { CookieOptions } from "../kit/cookies.js";
import { fmt } from "../kit/format.js";
import { formFields } from "../kit/forms.js";
import type { AdminKit } from "../kit/kit.js";
import { randomSecret, sameSecret, sha256 } from "../kit/secrets.js";
import { signInLimit } from "../kit/sign-in-limit.js";
import { verifyPassword } from "../passwords.js";
import { isActiveAdmin, type Sessions } from "../sessions.js";

/**
 * The double-submit cookie of the sign-in confirmation page. A visitor who is not signed in
 * has no session to hold a CSRF token, so the page sets this cookie (signed, `SameSite=Strict`,
 * bound to the one link) and puts the same nonce in its form: another site can make a browser
 * post to `/login/<token>`, but never with this cookie, so nobody is signed in as somebody else.
 */
const CONFIRM_COOKIE = "kamihi_login";
const CONFIRM_PATH = "/login/";

/** Options of {@link signInRoutes}: what the sign-in needs of the server. */
export interface SignInOptions {
  kit: AdminKit;
  sessions: Sessions;
  /** The session cookie: its name and attributes. */
  sessionCookie: { name: string; options: CookieOptions };
  passwordHash: string | undefined;
  loginTtlSeconds: number;
  /** Sign-in attempts allowed per client address and minute, over every sign-in route. */
  attemptsPerMinute: number;
  /** Whether the request already comes with a live admin session. */
  signedIn(request: FastifyRequest): Promise<unknown>;
  /** What "now" is: how long the confirmation cookie lives is counted from it. */
  clock: Clock;
}

type TokenRoute = { Params: { token: string } };

/**
 * The routes anyone may call: the sign-in page, the login link (a GET shows a confirmation, a
 * POST from it signs in), the password form, and signing out. Every route that checks a
 * credential shares one attempts budget per client address.
 */
export const signInRoutes: FastifyPluginAsync<SignInOptions> = async (app, context) => {
  const { kit, sessions, sessionCookie, passwordHash, clock } = context;
  const log = kit.log;
  const minutes = Math.max(1, Math.round(context.loginTtlSeconds / 60));
  const linkRule = `Sign-in links work once, for ${fmt.count(minutes, "minute")}`;

  // One limiter for every route below: the budget is the address's, not the route's.
  const limit = signInLimit(app, context.attemptsPerMinute);

  const loginPage = (
    request: FastifyRequest,
    reply: FastifyReply,
    extra: { error?: string } = {},
  ) =>
    kit.render(request, reply, "login.eta", "Sign in", {
      password: passwordHash !== undefined,
      minutes,
      ...extra,
    });

  /** The page for a link that is unknown, used, expired, or not an admin's any more. */
  const linkRefused = (request: FastifyRequest, reply: FastifyReply) => {
    log.info({ ip: request.ip }, "an admin login link was refused (unknown, used or expired)");
    return loginPage(request, reply.code(403), {
      error: `This sign-in link is not valid: it has expired or was already used. ${linkRule}; send /admin to the bot for a new one.`,
    });
  };

  async function startSession(
    request: FastifyRequest,
    reply: FastifyReply,
    user: User,
    how: "login link" | "password",
  ) {
    const { id } = await sessions.open(user.telegramId);
    reply.setCookie(sessionCookie.name, id, sessionCookie.options);
    await kit.audit(request, "session.open", String(user.telegramId), how, user);
    log.info({ userId: user.telegramId, ip: request.ip, how }, "an admin signed in");
    return reply.redirect("/", 303);
  }

  app.get("/login", async (request, reply) => {
    if ((await context.signedIn(request)) !== undefined) return reply.redirect("/", 303);
    return loginPage(request, reply);
  });

  // A GET only asks: link previews, scanners and prefetchers fetch it as often as they like and
  // the link still works for the person it was sent to.
  app.get<TokenRoute>("/login/:token", { onRequest: limit }, async (request, reply) => {
    reply.header("cache-control", "no-store");
    const token = request.params.token;
    const live = await sessions.peekLoginToken(token);
    const user = live === undefined ? null : await kit.users.getUser(live.telegramId);
    if (live === undefined || !isActiveAdmin(user)) return linkRefused(request, reply);
    const nonce = confirmNonce(request, token) ?? randomSecret(24);
    reply.setCookie(CONFIRM_COOKIE, `${linkTag(token)}.${nonce}`, {
      path: CONFIRM_PATH,
      httpOnly: true,
      sameSite: "strict",
      secure: sessionCookie.options.secure,
      signed: true,
      maxAge: Math.max(1, Math.ceil((live.expiresAt.getTime() - clock()) / 1000)),
    });
    return kit.render(request, reply, "login-confirm.eta", `Sign in as ${fmt.name(user)}`, {
      fmt,
      user,
      action: `/login/${token}`,
      confirm: nonce,
      expiresAt: live.expiresAt,
    });
  });

  app.post<TokenRoute>("/login/:token", { onRequest: limit }, async (request, reply) => {
    reply.header("cache-control", "no-store");
    const token = request.params.token;
    const form = formFields(request.body);
    const given = typeof form?._csrf === "string" ? form._csrf : "";
    const expected = confirmNonce(request, token);
    if (expected === undefined || !sameSecret(given, expected)) {
      // Not this link's page (another site's form, or a page from before): the link is unused.
      log.warn({ ip: request.ip }, "a sign-in confirmation without its page's token was refused");
      return loginPage(request, reply.code(403), {
        error:
          "This sign-in page has expired. Open the link the bot sent you again (it still works) and confirm there.",
      });
    }
    reply.clearCookie(CONFIRM_COOKIE, { path: CONFIRM_PATH });
    const telegramId = await sessions.consumeLoginToken(token);
    const user = telegramId === undefined ? null : await kit.users.getUser(telegramId);
    if (!isActiveAdmin(user)) return linkRefused(request, reply);
    return startSession(request, reply, user, "login link");
  });

  app.post<{ Body: unknown }>("/login", { onRequest: limit }, async (request, reply) => {
    const body = formFields(request.body) ?? {};
    const id =
      typeof body.telegramId === "string" && /^\d{1,16}$/.test(body.telegramId)
        ? Number(body.telegramId)
        : undefined;
    const password = typeof body.password === "string" ? body.password : "";
    const refuse = () =>
      loginPage(request, reply.code(401), { error: "Wrong Telegram id or password." });
    if (passwordHash === undefined || id === undefined) return refuse();
    const ok = await verifyPassword(password, passwordHash);
    const user = ok ? await kit.users.getUser(id) : null;
    if (!isActiveAdmin(user)) {
      log.info({ ip: request.ip }, "an admin password login was refused");
      return refuse();
    }
    return startSession(request, reply, user, "password");
  });

  app.post("/logout", async (request, reply) => {
    await sessions.close(request.admin?.sessionId);
    reply.clearCookie(sessionCookie.name, { path: "/" });
    return reply.redirect("/login", 303);
  });
};

/** Ties a confirmation cookie to one link without keeping the link itself in the cookie. */
function linkTag(token: string): string {
  return sha256(token).slice(0, 22);
}

/** The nonce of this link's confirmation cookie, if the request carries a valid one. */
function confirmNonce(request: FastifyRequest, token: string): string | undefined {
  const raw = request.cookies[CONFIRM_COOKIE];
  if (raw === undefined) return undefined;
  const unsigned = request.unsignCookie(raw);
  if (!unsigned.valid || unsigned.value === null) return undefined;
  const [tag, nonce, ...rest] = unsigned.value.split(".");
  if (rest.length > 0 || nonce === undefined || nonce === "") return undefined;
  return tag === linkTag(token) ? nonce : undefined;
}
