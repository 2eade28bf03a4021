import { createHash, randomBytes, scrypt, timingSafeEqual } from "node:crypto";
import { literal, type Store, type User } from "@kamihi/core";

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

const hash = (value: string) => createHash("sha256").update(value).digest("base64url");
const random = (bytes = 32) => randomBytes(bytes).toString("base64url");
/** What a login token and a session id look like; anything else is refused before a lookup. */
const SECRET = /^[A-Za-z0-9_-]{20,100}$/;

/** A login token that still works: who it signs in, and until when. */
export interface LiveLoginToken {
  telegramId: number;
  expiresAt: Date;
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
  private ready: Promise<unknown> | undefined;

  constructor(store: Store, options: { loginTtlSeconds: number; sessionTtlSeconds: number }) {
    this.tokens = store.collection<LoginTokenDoc>("login_tokens");
    this.sessions = store.collection<SessionDoc>("admin_sessions");
    this.loginTtlMs = options.loginTtlSeconds * 1000;
    this.sessionTtlMs = options.sessionTtlSeconds * 1000;
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
    const token = random();
    await this.tokens.insertOne({
      tokenHash: hash(token),
      telegramId,
      expiresAt: new Date(Date.now() + this.loginTtlMs),
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
      tokenHash: literal(hash(token)),
      usedAt: null,
      expiresAt: { $gt: new Date() },
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
    const used = await this.tokens.findOneAndUpdate(
      { tokenHash: literal(hash(token)), usedAt: null, expiresAt: { $gt: new Date() } },
      { $set: { usedAt: new Date() } },
    );
    return used?.telegramId;
  }

  /** Opens a session; returns the id for the cookie (only its hash is stored). */
  async open(telegramId: number): Promise<{ id: string; session: Session }> {
    await this.init();
    const id = random();
    const session = {
      telegramId,
      csrf: random(24),
      expiresAt: new Date(Date.now() + this.sessionTtlMs),
    };
    await this.sessions.insertOne({ idHash: hash(id), ...session });
    return { id, session };
  }

  /** The live session behind a cookie's id, if any. */
  async find(id: string | undefined): Promise<Session | undefined> {
    if (id === undefined || !SECRET.test(id)) return undefined;
    await this.init();
    const doc = await this.sessions.findOne({
      idHash: literal(hash(id)),
      expiresAt: { $gt: new Date() },
    });
    if (doc === null) return undefined;
    return { telegramId: doc.telegramId, csrf: doc.csrf, expiresAt: doc.expiresAt };
  }

  /** Ends a session (logout). */
  async close(id: string | undefined): Promise<void> {
    if (id === undefined) return;
    await this.sessions.deleteOne({ idHash: literal(hash(id)) });
  }

  /** Ends every session of a user (no longer an admin, blocked, deleted). */
  async closeAll(telegramId: number): Promise<void> {
    await this.sessions.deleteMany({ telegramId: literal(telegramId) });
  }
}

/**
 * Whether `user` may use the admin: an admin whose account is active. Everyone else's
 * sessions end (see `endSessionsUnlessAdmin` in the server).
 */
export function isActiveAdmin(user: User | null | undefined): user is User {
  return user?.isAdmin === true && user.status === "active";
}

/** Constant-time comparison of two secrets of any length. */
export function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(hash(given));
  const b = Buffer.from(hash(expected));
  return timingSafeEqual(a, b);
}

/**
 * Checks a password against `scrypt$<salt>$<hash>` (base64url), the format of
 * `hashPassword()`. Constant time; a malformed hash never matches.
 */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, salt, expected] = stored.split("$");
  if (scheme !== "scrypt" || !salt || !expected) return false;
  const derived = await new Promise<Buffer>((resolve, reject) =>
    scrypt(password, salt, 32, (error, key) => (error ? reject(error) : resolve(key))),
  );
  const want = Buffer.from(expected, "base64url");
  return want.length === derived.length && timingSafeEqual(want, derived);
}

/** Hashes a password for `web.passwordHash`: `scrypt$<salt>$<hash>`. */
export async function hashPassword(password: string): Promise<string> {
  const salt = random(16);
  const derived = await new Promise<Buffer>((resolve, reject) =>
    scrypt(password, salt, 32, (error, key) => (error ? reject(error) : resolve(key))),
  );
  return `scrypt$${salt}$${derived.toString("base64url")}`;
}
