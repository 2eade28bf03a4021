import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Logger, LogLevel, UserService } from "@kamihi/core";
import { createMemoryStore } from "@kamihi/db";
import { createUserService } from "@kamihi/users";
import { type AdminServer, createAdmin } from "../src/index.js";
import { browser, formBody } from "./fixture.js";
import { ACTIONS, registry, signIn } from "./helpers.js";

// Only faults of the server are errors in the log. A client's mistakes (429, 404, 400, 403) are
// one line at most, without a stack, and no log line ever holds a secret.

interface Line {
  level: Exclude<LogLevel, "silent">;
  bindings: Record<string, unknown>;
  message: string | undefined;
}

/** A pino-shaped logger that keeps every line it is given. */
function capturingLogger(): { logger: Logger; lines: Line[] } {
  const lines: Line[] = [];
  const make = (bound: Record<string, unknown>): Logger => {
    const at =
      (level: Line["level"]) =>
      (first: unknown, second?: unknown): void => {
        if (typeof first === "string") lines.push({ level, bindings: bound, message: first });
        else {
          const bindings = { ...bound, ...(first as Record<string, unknown>) };
          lines.push({ level, bindings, message: second as string | undefined });
        }
      };
    return {
      trace: at("trace"),
      debug: at("debug"),
      info: at("info"),
      warn: at("warn"),
      error: at("error"),
      fatal: at("fatal"),
      child: (bindings) => make({ ...bound, ...bindings }),
    };
  };
  return { logger: make({}), lines };
}

/** Everything a line says, as text (an error's stack included). */
function textOf(line: Line): string {
  return JSON.stringify(line, (_key, value) =>
    value instanceof Error ? { message: value.message, stack: value.stack } : value,
  );
}

const errors = (lines: Line[]) => lines.filter((l) => l.level === "error" || l.level === "fatal");

describe("what the admin logs", () => {
  const { logger, lines } = capturingLogger();
  const store = createMemoryStore();
  const actions = registry(ACTIONS);
  const real = createUserService({ store, actions: () => actions.list().map((a) => a.name) });
  let failing = false;
  // The user service, with a switch that makes listRoles fail as a broken database would.
  const users = new Proxy(real, {
    get(target, name, receiver) {
      if (name === "listRoles" && failing) {
        return () => Promise.reject(new Error("the database went away"));
      }
      const value = Reflect.get(target, name, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  }) as UserService;
  let admin: AdminServer;

  before(async () => {
    await real.createUser({ telegramId: 1, firstName: "Ada", isAdmin: true });
    admin = await createAdmin({ users, actions, store, port: 0, logger });
    await admin.listen();
  });
  after(() => admin.close());

  it("logs a rate-limited attempt as one warning with the route, the address and the limit", async () => {
    const link = new URL(await admin.loginLink(1));
    const token = link.pathname.slice("/login/".length);
    const from = lines.length;
    const statuses: number[] = [];
    for (let i = 0; i < 12; i += 1) {
      const response = await admin.app.inject({ url: link.pathname, remoteAddress: "192.0.2.9" });
      statuses.push(response.statusCode);
    }
    assert.deepEqual(statuses, [...Array(10).fill(200), 429, 429]);
    const logged = lines.slice(from);
    const limited = logged.filter((l) => /too many sign-in attempts/i.test(l.message ?? ""));
    assert.equal(limited.length, 2, "one line per refused request");
    for (const line of limited) {
      assert.equal(line.level, "warn");
      assert.deepEqual(line.bindings, {
        route: "/login/:token",
        ip: "192.0.2.9",
        limit: "10 sign-in attempts a minute",
      });
      assert.ok(!textOf(line).includes("\\n    at "), "no stack");
    }
    assert.deepEqual(errors(logged), []);
    for (const line of logged)
      assert.ok(!textOf(line).includes(token), "the token is never logged");
  });

  it("does not log what a client got wrong as an error (404, 400, 403, 413, 415)", async () => {
    const session = await signIn(admin);
    const page = browser(admin, session);
    const link = new URL(await admin.loginLink(1)).pathname;
    const from = lines.length;
    const post = (url: string, payload: string, type: string) =>
      admin.app.inject({
        method: "POST",
        url,
        headers: { cookie: session.cookie, "content-type": type },
        payload,
      });
    const answers: [string, number, number][] = [
      ["no such page", (await page.get("/nowhere")).statusCode, 404],
      ["no such user", (await page.get("/users/999")).statusCode, 404],
      ["a mistyped login link", (await page.get(`${link}/more`)).statusCode, 404],
      ["a missing file", (await admin.app.inject({ url: "/static/nope.css" })).statusCode, 404],
      ["invalid fields", (await page.post("/users", { telegramId: "x" })).statusCode, 400],
      ["an operator", (await page.post("/users", { "firstName[$ne]": "" })).statusCode, 400],
      ["a bad query", (await page.get("/audit?before=nonsense")).statusCode, 400],
      ["broken JSON", (await post("/roles", "{", "application/json")).statusCode, 400],
      ["no CSRF token", (await page.post("/roles", { name: "x", _csrf: "" })).statusCode, 403],
      ["a strange body", (await post("/roles", "x", "application/x-unknown")).statusCode, 415],
      [
        "a huge body",
        (
          await post(
            "/roles",
            formBody({ name: "x".repeat(300_000) }),
            "application/x-www-form-urlencoded",
          )
        ).statusCode,
        413,
      ],
    ];
    for (const [what, got, want] of answers) assert.equal(got, want, what);
    const logged = lines.slice(from);
    assert.deepEqual(errors(logged), [], "no error lines");
    // Those Fastify itself refused reach the error handler: logged at info, with their code.
    assert.deepEqual(
      logged
        .filter((l) => l.message === "an admin request was refused")
        .map((l) => [l.level, l.bindings.status, l.bindings.code]),
      [
        ["info", 400, "FST_ERR_CTP_INVALID_JSON_BODY"],
        ["info", 415, "FST_ERR_CTP_INVALID_MEDIA_TYPE"],
        ["info", 413, "FST_ERR_CTP_BODY_TOO_LARGE"],
      ],
    );
    for (const line of logged) assert.ok(["debug", "info", "warn"].includes(line.level));
    for (const line of logged) {
      assert.ok(!("err" in line.bindings), `no error object (and stack): ${textOf(line)}`);
      assert.ok(!textOf(line).includes(link.slice("/login/".length)), "no login token");
      assert.ok(!textOf(line).includes(session.csrf), "no CSRF token in the log");
      const id = /kamihi_admin=([^.;]+)/.exec(session.cookie)?.[1] ?? "missing";
      assert.ok(!textOf(line).includes(id), "no session id in the log");
    }
  });

  it("logs a fault of the server as an error, with its stack, and shows none of it", async () => {
    const page = browser(admin, await signIn(admin));
    const from = lines.length;
    failing = true;
    let response: Awaited<ReturnType<typeof page.get>>;
    try {
      response = await page.get("/roles");
    } finally {
      failing = false;
    }
    assert.equal(response.statusCode, 500);
    assert.match(
      response.body,
      /Something went wrong; the error is in the bot&#39;s log\.|Something went wrong; the error is in the bot's log\./,
    );
    assert.ok(!response.body.includes("the database went away"));
    assert.ok(!response.body.includes("    at "));
    const logged = errors(lines.slice(from));
    assert.equal(logged.length, 1);
    const [line] = logged;
    assert.ok(line?.bindings.err instanceof Error);
    assert.equal((line.bindings.err as Error).message, "the database went away");
    assert.equal(line.bindings.route, "/roles");
  });
});
