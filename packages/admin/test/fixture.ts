import { createMemoryStore } from "@kamihi/db";
import { createUserService } from "@kamihi/users";
import { type AdminOptions, type AdminServer, createAdmin } from "../src/index.js";
import { ACTIONS, registry } from "./helpers.js";

type UserServiceOptions = Parameters<typeof createUserService>[0];

/**
 * An admin like `testAdmin()` but with the store at hand and options of its own: a user schema
 * (custom fields), run counts, a short login time, a logger, trusted proxies… User 1 "Ada" is
 * its admin.
 */
export async function adminWith(
  options: {
    schema?: UserServiceOptions["schema"];
    registration?: UserServiceOptions["registration"];
    adminData?: Record<string, unknown>;
  } & Partial<Omit<AdminOptions, "users" | "actions" | "store">> = {},
) {
  const { schema, registration, adminData, ...adminOptions } = options;
  const store = createMemoryStore();
  const actions = registry(ACTIONS);
  const users = createUserService({
    store,
    actions: () => actions.list().map((a) => a.name),
    ...(schema === undefined ? {} : { schema }),
    ...(registration === undefined ? {} : { registration }),
  });
  await users.createUser({
    telegramId: 1,
    firstName: "Ada",
    isAdmin: true,
    ...(adminData === undefined ? {} : { data: adminData }),
  });
  const admin = await createAdmin({
    users,
    actions,
    store,
    port: 0,
    status: () => ({ username: "test_bot", running: true, store: "memory" }),
    ...adminOptions,
  });
  await admin.listen();
  return { admin, users, store };
}

/** What a browser sends: fields (repeated for several values), form-encoded. */
export function formBody(fields: Record<string, string | readonly string[]>): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(fields)) {
    for (const one of typeof value === "string" ? [value] : value) params.append(name, one);
  }
  return params.toString();
}

/** A signed-in browser of one admin: GETs and form POSTs with the session's cookie and token. */
export function browser(admin: AdminServer, session: { cookie: string; csrf: string }) {
  return {
    get: (url: string) =>
      admin.app.inject({ method: "GET", url, headers: { cookie: session.cookie } }),
    /** Posts a form with the CSRF token (unless `_csrf` is given, even empty). */
    post: (url: string, fields: Record<string, string | readonly string[]> = {}) =>
      admin.app.inject({
        method: "POST",
        url,
        headers: {
          cookie: session.cookie,
          "content-type": "application/x-www-form-urlencoded",
        },
        payload: formBody({ _csrf: session.csrf, ...fields }),
      }),
    /** Follows a 303 like a browser, carrying the flash cookie along. */
    async follow(response: { statusCode: number; headers: Record<string, unknown> }) {
      const location = response.headers.location;
      if (response.statusCode !== 303 || typeof location !== "string") {
        throw new Error(`expected a 303 redirect, got ${response.statusCode}`);
      }
      const set = response.headers["set-cookie"];
      const flash = (Array.isArray(set) ? set : typeof set === "string" ? [set] : [])
        .map((c: string) => c.split(";")[0])
        .filter((c: string | undefined) => c?.startsWith("kamihi_flash=") && c !== "kamihi_flash=");
      return admin.app.inject({
        method: "GET",
        url: location,
        headers: { cookie: [session.cookie, ...flash].join("; ") },
      });
    },
  };
}

/** The Telegram ids a users table links to, in order, each once. */
export function userIdsIn(html: string): number[] {
  const body = html.slice(html.indexOf("<tbody>"), html.lastIndexOf("</tbody>"));
  return [...new Set([...body.matchAll(/href="\/users\/(\d+)"/g)].map((m) => Number(m[1])))];
}

/** A link of the page by its `rel`, as the page escapes it (`&amp;`), unescaped. */
export function relLink(html: string, rel: string): string | undefined {
  const found = new RegExp(`<a href="([^"]+)" rel="${rel}"`).exec(html)?.[1];
  return found?.replaceAll("&amp;", "&");
}
