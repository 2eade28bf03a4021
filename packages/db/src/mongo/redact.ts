import { redactUrlCredentials } from "@kamihi/core";

/**
 * `text` (a driver's message) without the password of `url`: the URL itself is shown with its
 * credentials hidden, and the password alone is masked wherever else it appears.
 */
export function scrubPassword(url: string, text: string): string {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(url)?.[0] ?? "";
  const rest = url.slice(scheme.length);
  const at = rest.lastIndexOf("@");
  let out = text.split(url).join(redactUrlCredentials(url));
  if (at !== -1) {
    const credentials = rest.slice(0, at);
    const password = credentials.includes(":")
      ? credentials.slice(credentials.indexOf(":") + 1)
      : credentials;
    if (password !== "") out = out.split(password).join("***");
  }
  return out;
}
