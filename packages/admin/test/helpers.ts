import type { ActionInfo, ActionRegistry } from "@kamihi/core";
import { createMemoryStore } from "@kamihi/db";
import { createUserService } from "@kamihi/users";
import { type AdminServer, createAdmin } from "../src/index.js";

/** A small action registry: what the bot would have discovered. */
export function registry(actions: ActionInfo[]): ActionRegistry {
  return {
    list: () => actions,
    get: (name) => actions.find((a) => a.name === name),
    byCommand: (command) => actions.find((a) => a.commands.includes(command)),
  };
}

export const ACTIONS: ActionInfo[] = [
  { name: "start", commands: ["start"], description: "Say hello", public: true, questions: [] },
  {
    name: "report",
    commands: ["report"],
    description: "Daily report",
    public: false,
    questions: [],
  },
  {
    name: "refund",
    commands: ["refund"],
    description: "Refund an order",
    public: false,
    questions: [],
  },
];

/** An admin over the embedded store with one admin user (id 1) signed-in-able. */
export async function testAdmin(): Promise<{
  admin: AdminServer;
  users: ReturnType<typeof createUserService>;
}> {
  const store = createMemoryStore();
  const actions = registry(ACTIONS);
  const users = createUserService({ store, actions: () => actions.list().map((a) => a.name) });
  await users.createUser({ telegramId: 1, firstName: "Ada", isAdmin: true });
  const admin = await createAdmin({
    users,
    actions,
    store,
    port: 0,
    status: () => ({ username: "test_bot", running: true, store: "memory" }),
  });
  await admin.listen();
  return { admin, users };
}

/**
 * A clock the test moves by hand: hand `now` to the admin (`clock`), then `advance` past an
 * expiry instead of waiting for it.
 */
export function manualClock(start = Date.now()): { now: () => number; advance(ms: number): void } {
  let at = start;
  return {
    now: () => at,
    advance(ms) {
      at += ms;
    },
  };
}

/** The `Set-Cookie` headers of a response as one `Cookie` header (name=value pairs). */
export function cookiesOf(response: { headers: Record<string, unknown> }): string {
  const set = response.headers["set-cookie"];
  const all = Array.isArray(set) ? set : typeof set === "string" ? [set] : [];
  return all.map((c: string) => c.split(";")[0]).join("; ");
}

/** Opens a login link (its path) as a browser or a link preview does: a plain GET. */
export function openLink(admin: AdminServer, path: string, remoteAddress = "127.0.0.1") {
  return admin.app.inject({ method: "GET", url: path, remoteAddress });
}

/** The nonce in the confirmation form of a login link's page. */
export function confirmNonce(page: { body: string }): string {
  return /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1] ?? "";
}

/** Presses "Sign in" on the confirmation `page` of the link at `path`, with its cookie. */
export function confirmLink(
  admin: AdminServer,
  path: string,
  page: { body: string; headers: Record<string, unknown> },
  remoteAddress = "127.0.0.1",
) {
  return admin.app.inject({
    method: "POST",
    url: path,
    remoteAddress,
    headers: {
      cookie: cookiesOf(page),
      "content-type": "application/x-www-form-urlencoded",
    },
    payload: new URLSearchParams({ _csrf: confirmNonce(page) }).toString(),
  });
}

let signIns = 0;

/**
 * Signs in through a login link as a person does: opens the link (the confirmation page), then
 * presses its button. Returns the session cookie header and the CSRF token. Each call comes from
 * an address of its own (`10.9.x.y`), as admins on their own machines do, so tests that sign in
 * often do not spend one address's sign-in budget.
 */
export async function signIn(
  admin: AdminServer,
  telegramId = 1,
): Promise<{ cookie: string; csrf: string }> {
  signIns += 1;
  const remoteAddress = `10.9.${Math.floor(signIns / 250) % 250}.${(signIns % 250) + 1}`;
  const path = new URL(await admin.loginLink(telegramId)).pathname;
  const confirm = await openLink(admin, path, remoteAddress);
  if (confirm.statusCode !== 200) throw new Error(`the link answered ${confirm.statusCode}`);
  const login = await confirmLink(admin, path, confirm, remoteAddress);
  if (login.statusCode !== 303) throw new Error(`confirming answered ${login.statusCode}`);
  const cookie = cookiesOf(login)
    .split("; ")
    .filter((c) => c.startsWith("kamihi_admin="))
    .join("; ");
  const page = await admin.app.inject({ method: "GET", url: "/", headers: { cookie } });
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1] ?? "";
  return { cookie, csrf };
}
