import { scrypt, timingSafeEqual } from "node:crypto";
import { randomSecret } from "./kit/secrets.js";

/**
 * Checks a password against `scrypt$<salt>$<hash>` (base64url), the format of
 * `hashPassword()`. Constant time; a malformed hash never matches.
 */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, salt, expected] = stored.split("$");
  if (scheme !== "scrypt" || !salt || !expected) return false;
  const derived = await derive(password, salt);
  const want = Buffer.from(expected, "base64url");
  return want.length === derived.length && timingSafeEqual(want, derived);
}

/** Hashes a password for `web.passwordHash`: `scrypt$<salt>$<hash>`. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomSecret(16);
  const derived = await derive(password, salt);
  return `scrypt$${salt}$${derived.toString("base64url")}`;
}

function derive(password: string, salt: string): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) =>
    scrypt(password, salt, 32, (error, key) => (error ? reject(error) : resolve(key))),
  );
}
