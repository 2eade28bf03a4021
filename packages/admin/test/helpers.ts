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

/** Signs in through a login link; returns the session cookie header and the CSRF token. */
export async function signIn(
  admin: AdminServer,
  telegramId = 1,
): Promise<{ cookie: string; csrf: string }> {
  const link = new URL(await admin.loginLink(telegramId));
  const login = await admin.app.inject({ method: "GET", url: link.pathname });
  const set = login.headers["set-cookie"];
  const cookie = (Array.isArray(set) ? set : [set ?? ""]).map((c) => c.split(";")[0]).join("; ");
  const page = await admin.app.inject({ method: "GET", url: "/", headers: { cookie } });
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1] ?? "";
  return { cookie, csrf };
}
