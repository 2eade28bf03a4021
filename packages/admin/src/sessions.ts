import { type Clock, literal, type Store, systemClock, type User } from "@kamihi/core";
import { randomSecret, sha256 } from "./kit/secrets.js";

/** A signed-in admin's session, as the routes see it. */
export interface Session {
  telegramId: number;
  /** Sent back in every form; a state-changing request without it is refused. */
  csrf: string;
  expiresAt: Date;
}

interface LoginTokenDoc extends Record<string, unknown> {
  /** sha256 of the token: a leaked database never holds a usable link. */
  tokenHash: string;
  telegramId: number;
  expiresAt: Date;
  usedAt: Date | null;
}

interface SessionDoc extends Record<string, unknown> {
  idHash: string;
  telegramId: number;
  csrf: string;
  expiresAt: Date;
}

/** What a login token and a session id look like; anything else is refused before a lookup. */
const SECRET = /^[A-Za-z0-9_-]{20,100}$/;

/** A login token that still works: who it signs in, and until when. */
export interface LiveLoginToken {
  telegramId: number;
  expiresAt: Date;
}

/** Options of {@link Sessions}. */
export interface SessionsOptions {
  loginTtlSeconds: number;
  sessionTtlSeconds: number;
  /** What "now" is for expiry: tokens and sessions expire by it. Default the system clock. */
  clock?: Clock;
}

/**
 * Single-use login links and server-side sessions, kept in the store (`kamihi_login_tokens`,
 * `kamihi_admin_sessions`), so any instance can check them and logging out revokes at once.
 */
export class Sessions {
  private readonly tokens;
  private readonly sessions;
  private readonly loginTtlMs: number;
  private readonly sessionTtlMs: number;
  private readonly clock: Clock;
  private ready: Promise<unknown> | undefined;

  constructor(store: Store, options: SessionsOptions) {
    this.tokens = store.collection<LoginTokenDoc>("login_tokens");
    this.sessions = store.collection<SessionDoc>("admin_sessions");
    this.loginTtlMs = options.loginTtlSeconds * 1000;
    this.sessionTtlMs = options.sessionTtlSeconds * 1000;
    this.clock = options.clock ?? systemClock;
  }

  init(): Promise<unknown> {
    this.ready ??= Promise.all([
      this.tokens.createIndex({ keys: { tokenHash: 1 }, unique: true }),
      this.tokens.createIndex({ keys: { expiresAt: 1 }, expireAfterSeconds: 0 }),
      this.sessions.createIndex({ keys: { idHash: 1 }, unique: true }),
      this.sessions.createIndex({ keys: { expiresAt: 1 }, expireAfterSeconds: 0 }),
    ]);
    return this.ready;
  }

  /** A new single-use login token for this admin, valid for the login time. */
  async issueLoginToken(telegramId: number): Promise<string> {
    await this.init();
    const token = randomSecret();
    await this.tokens.insertOne({
      tokenHash: sha256(token),
      telegramId,
      expiresAt: this.inMs(this.loginTtlMs),
      usedAt: null,
    });
    return token;
  }

  /**
   * Looks at a login token without using it: who it signs in, or `undefined` when it is
   * unknown, expired or already used. Link previews and scanners fetch links; only
   * {@link consumeLoginToken} (after the person confirms) uses one up.
   */
  async peekLoginToken(token: string): Promise<LiveLoginToken | undefined> {
    await this.init();
    if (typeof token !== "string" || !SECRET.test(token)) return undefined;
    const doc = await this.tokens.findOne({
      tokenHash: literal(sha256(token)),
      usedAt: null,
      expiresAt: { $gt: this.inMs(0) },
    });
    return doc === null ? undefined : { telegramId: doc.telegramId, expiresAt: doc.expiresAt };
  }

  /**
   * Uses a login token: the Telegram id it was issued for, or `undefined` when it is unknown,
   * expired or already used. A compare-and-set, so two requests with one link get one session.
   */
  async consumeLoginToken(token: string): Promise<number | undefined> {
    await this.init();
    if (typeof token !== "string" || !SECRET.test(token)) return undefined;
    const now = this.inMs(0);
    const used = await this.tokens.findOneAndUpdate(
      { tokenHash: literal(sha256(token)), usedAt: null, expiresAt: { $gt: now } },
      { $set: { usedAt: now } },
    );
    return used?.telegramId;
  }

  /** Opens a session; returns the id for the cookie (only its hash is stored). */
  async open(telegramId: number): Promise<{ id: string; session: Session }> {
    await this.init();
    const id = randomSecret();
    const session = {
      telegramId,
      csrf: randomSecret(24),
      expiresAt: this.inMs(this.sessionTtlMs),
    };
    await this.sessions.insertOne({ idHash: sha256(id), ...session });
    return { id, session };
  }

  /** The live session behind a cookie's id, if any. */
  async find(id: string | undefined): Promise<Session | undefined> {
    if (id === undefined || !SECRET.test(id)) return undefined;
    await this.init();
    const doc = await this.sessions.findOne({
      idHash: literal(sha256(id)),
      expiresAt: { $gt: this.inMs(0) },
    });
    if (doc === null) return undefined;
    return { telegramId: doc.telegramId, csrf: doc.csrf, expiresAt: doc.expiresAt };
  }

  /** Ends a session (logout). */
  async close(id: string | undefined): Promise<void> {
    if (id === undefined) return;
    await this.sessions.deleteOne({ idHash: literal(sha256(id)) });
  }

  /** Ends every session of a user (no longer an admin, blocked, deleted). */
  async closeAll(telegramId: number): Promise<void> {
    await this.sessions.deleteMany({ telegramId: literal(telegramId) });
  }

  /** The clock's now plus `ms`. */
  private inMs(ms: number): Date {
    return new Date(this.clock() + ms);
  }
}

/**
 * Whether `user` may use the admin: an admin whose account is active. Everyone else's
 * sessions end (see `endSessionsUnlessAdmin` in `kit/auth.ts`).
 */
export function isActiveAdmin(user: User | null | undefined): user is User {
  return user?.isAdmin === true && user.status === "active";
}
