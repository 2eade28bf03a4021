import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/** sha256 of `value`, base64url: what the store keeps of tokens and session ids. */
export function sha256(value: string): string {
  return createHash("sha256").update(value).digest("base64url");
}

/** A random secret of `bytes` bytes, base64url (tokens, session ids, CSRF tokens, salts). */
export function randomSecret(bytes = 32): string {
  return randomBytes(bytes).toString("base64url");
}

/** Constant-time comparison of two secrets of any length. */
export function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(sha256(given));
  const b = Buffer.from(sha256(expected));
  return timingSafeEqual(a, b);
}
