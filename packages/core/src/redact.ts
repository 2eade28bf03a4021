/**
 * Hides the password (and any secret query parameter) of a connection URL so it can be shown
 * in logs, errors and `kamihi config`: `mongodb://ada:s3cret@db:27017/?authSource=admin`
 * becomes `mongodb://ada:***@db:27017/?authSource=admin`. A value that is not a URL is
 * returned as `***` when it could hold credentials (it contains `@`), unchanged otherwise.
 */
export function redactUrlCredentials(value: string): string {
  const match = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*@)?(.*)$/i.exec(value);
  if (match === null) return value.includes("@") ? "***" : value;
  const [, scheme = "", userinfo, rest = ""] = match;
  let result = scheme;
  if (userinfo !== undefined) {
    const user = userinfo.slice(0, -1).split(":")[0] ?? "";
    result += user === "" ? "***@" : `${user}:***@`;
  }
  return result + redactSecretParams(rest);
}

const secretParam = /([?&](?:password|pass|pwd|secret|token|key|apikey|api_key)=)[^&#]*/gi;

function redactSecretParams(rest: string): string {
  return rest.replace(secretParam, "$1***");
}
