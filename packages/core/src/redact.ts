/**
 * Hides the credentials of a connection URL so it can be shown in logs, errors and
 * `kamihi config`: `mongodb://ada:s3cret@db:27017/?authSource=admin` becomes
 * `mongodb://ada:***@db:27017/?authSource=admin`. Everything between the scheme and the last
 * `@` counts as credentials (so an unencoded `/` or `?` in a password stays hidden); a user
 * with no password may be a token, so it is hidden whole. Query parameters whose names speak
 * of passwords, secrets, tokens, keys or credentials are hidden too. A value that is not a URL
 * is returned as `***` when it could hold credentials (it contains `@`), unchanged otherwise.
 */
export function redactUrlCredentials(value: string): string {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(value)?.[0];
  if (scheme === undefined) return value.includes("@") ? "***" : value;
  let rest = value.slice(scheme.length);
  let userinfo = "";
  const at = rest.lastIndexOf("@");
  if (at !== -1) {
    const credentials = rest.slice(0, at);
    const colon = credentials.indexOf(":");
    userinfo = colon === -1 ? "***@" : `${credentials.slice(0, colon)}:***@`;
    rest = rest.slice(at + 1);
  }
  return scheme + userinfo + rest.replace(secretParam, "$1***");
}

const secretParam =
  /([?&][^=&#]*(?:pass|pwd|secret|token|key|credential|authmechanismproperties)[^=&#]*=)[^&#]*/gi;

/** Telegram bot tokens anywhere in a text, for a last line of defence in messages. */
const TOKEN_IN_TEXT = /\d{3,}:[A-Za-z0-9_-]{30,}/g;

/** Replaces anything shaped like a Telegram bot token in `text` with `[redacted token]`. */
export function redactTokens(text: string): string {
  return text.replace(TOKEN_IN_TEXT, "[redacted token]");
}
