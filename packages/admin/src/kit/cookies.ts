/** The session cookie: a random id, signed; only its hash is in the store. */
export const SESSION_COOKIE = "kamihi_admin";
/** The message shown once on the page after a redirect. */
export const FLASH_COOKIE = "kamihi_flash";

/** Attributes of the admin's cookies: the session's and the flash message's. */
export interface CookieOptions {
  path: string;
  httpOnly: boolean;
  sameSite: "lax";
  /** Set behind an https `publicUrl`. */
  secure: boolean;
  signed: boolean;
}

/** The attributes every admin cookie gets; `Secure` only when people reach it over https. */
export function cookieOptions(secure: boolean): CookieOptions {
  return { path: "/", httpOnly: true, sameSite: "lax", secure, signed: true };
}
