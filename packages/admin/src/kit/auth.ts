import type { User } from "@kamihi/core";
import type { FastifyReply, FastifyRequest } from "fastify";
import { isActiveAdmin, type Session, type Sessions } from "../sessions.js";
import type { SignedInUsers } from "../signed-in-users.js";
import { SESSION_COOKIE } from "./cookies.js";

declare module "fastify" {
  interface FastifyRequest {
    /** The signed-in admin's session and user, on every route behind the login. */
    admin?: SignedInAdmin;
  }
}

/** Who a request is signed in as. */
export interface SignedInAdmin {
  session: Session;
  user: User;
  /** The session's id, from the cookie (the store keeps only its hash). */
  sessionId: string;
}

/** Routes that answer without a session. */
const OPEN = /^\/(login(\/[^/]*)?|static\/.*|favicon\.ico)$/;

/** Who is signed in, and the guard that keeps everyone else out. */
export interface Auth {
  /** The session behind the request's cookie, and its user, if both are still valid. */
  signedIn(request: FastifyRequest): Promise<SignedInAdmin | undefined>;
  /**
   * Ends every admin session of `telegramId` unless `user` (as it is now; `null` when deleted)
   * is still an active admin. Every change of a user calls it, and so does the session check
   * of every request: rights taken away, whichever way, end the sessions one way.
   */
  endSessionsUnlessAdmin(telegramId: number, user: User | null): Promise<void>;
  /**
   * The `onRequest` hook: a request to anything but the sign-in and static files needs a
   * session. Pages redirect to the sign-in, other requests get 401.
   */
  guard(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined>;
}

/** The admin's authentication over its sessions and the users behind them. */
export function createAuth(sessions: Sessions, signedInUsers: SignedInUsers): Auth {
  async function endSessionsUnlessAdmin(telegramId: number, user: User | null) {
    if (isActiveAdmin(user)) return;
    await sessions.closeAll(telegramId);
  }

  async function signedIn(request: FastifyRequest): Promise<SignedInAdmin | undefined> {
    const raw = request.cookies[SESSION_COOKIE];
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

  async function guard(request: FastifyRequest, reply: FastifyReply) {
    const path = request.url.split("?")[0] ?? "/";
    if (OPEN.test(path)) return undefined;
    const admin = await signedIn(request);
    if (admin === undefined) {
      if (request.method === "GET" || request.method === "HEAD") {
        return reply.redirect("/login", 303);
      }
      return reply.code(401).type("text/plain").send("Sign in first: send /admin to the bot.");
    }
    request.admin = admin;
    return undefined;
  }

  return { signedIn, endSessionsUnlessAdmin, guard };
}
