import { performance } from "node:perf_hooks";
import {
  type BenchContext,
  interleave,
  type Metric,
  type PreparedProject,
  planProjects,
  type RunOutcome,
  type Scenario,
  type ScenarioResult,
} from "../bench.js";
import { childEnv, dbSettings, writeSettings } from "../kamihi-project.js";
import { NO_PROBLEMS } from "../replies.js";
import { percentile } from "../stats.js";
import { explainOutput, freePort, Running, type Subject, TOKEN } from "../subjects.js";

const METRICS: Metric[] = [
  { key: "p50", label: "users page p50", unit: "ms", better: "lower", digits: 1 },
  { key: "p99", label: "users page p99", unit: "ms", better: "lower", digits: 1 },
];

const ADMIN_FILE: Subject = {
  id: "kamihi-admin-file",
  label: "Kamihi admin (embedded file)",
  framework: "kamihi",
  store: "file",
};
const ADMIN_MONGO: Subject = {
  id: "kamihi-admin-mongo",
  label: "Kamihi admin (MongoDB)",
  framework: "kamihi",
  store: "mongo",
};
const SUBJECTS = [ADMIN_FILE, ADMIN_MONGO];

const ADMIN_ID = 1;
const PASSWORD = "bench password, not a secret";
const FIRST_USER = 1_000_000;

/**
 * The admin's users page on a big store: `kamihi admin` on a project seeded with N users,
 * signed in with a password, then sequential GETs of the users list — the first page, the pages
 * after it (following "Next page"), and pages deep in the list.
 */
export const admin: Scenario<Map<string, PreparedProject[]>> = {
  id: "admin",
  // Seeded once per subject (100,000 users take a while); each repetition starts the admin anew.
  prepare: (context) =>
    planProjects(
      context,
      SUBJECTS,
      "hello",
      () => ({
        admin: { telegramId: ADMIN_ID, firstName: "Admin" },
        users: { firstId: FIRST_USER, count: context.options.users, firstName: "User", roles: [] },
        password: PASSWORD,
      }),
      1,
    ),
  run: runAdmin,
};

async function runAdmin(
  context: BenchContext,
  projects: Map<string, PreparedProject[]>,
): Promise<ScenarioResult> {
  const started = performance.now();
  const { options } = context;
  const subjects = await interleave(
    context,
    { id: "admin", metrics: METRICS },
    SUBJECTS,
    (subject) => adminRun(context, projects.get(subject.id)?.[0]),
    // One run per subject: its many requests are the samples, and seeding is the costly part.
    1,
  );
  return {
    id: "admin",
    title: `Admin users page (${options.users.toLocaleString("en")} users; ${options.pageRequests} GETs, first, following and deep pages)`,
    metrics: METRICS,
    subjects,
    notes: [
      "Kamihi only, one run per subject (its requests are the samples): `kamihi admin` beside no bot, signed in with web.passwordHash.",
    ],
    durationMs: performance.now() - started,
  };
}

async function adminRun(
  context: BenchContext,
  project: PreparedProject | undefined,
): Promise<RunOutcome> {
  const { options } = context;
  if (project?.seeded?.passwordHash === undefined) throw new Error("the project was not seeded");
  const port = await freePort();
  writeSettings(project.root, {
    token: TOKEN,
    db: dbSettings(project.store),
    // Nothing here calls Telegram; an address that refuses at once.
    tg: { apiRoot: "http://127.0.0.1:9" },
    web: {
      enabled: true,
      host: "127.0.0.1",
      port,
      passwordHash: project.seeded.passwordHash,
      sessionSecret: "bench-session-secret-of-at-least-32-characters",
    },
    log: { level: "warn", format: "json" },
  });
  const running = new Running(
    process.execPath,
    [options.checkout.cli, "-C", project.root, "admin"],
    childEnv(),
    project.root,
  );
  try {
    const found = await running.waitFor(/listens on (http:\/\/[^\s]+?)\.?\s/, 120_000);
    const base = (found[1] as string).replace(/\/$/, "");
    const cookie = await signIn(base);
    const times: number[] = [];
    let next: string | undefined;
    // Bounded like every run: a store that scans 100,000 users per page (FerretDB 1.x) is
    // reported as too slow instead of holding the bench for an hour.
    const deadline = performance.now() + options.maxRunSeconds * 1000;
    const tooSlow = (): RunOutcome => ({
      values: times.length === 0 ? {} : { p50: percentile(times, 50), p99: percentile(times, 99) },
      counts: { ...NO_PROBLEMS },
      incomplete: `too slow: ${times.length} of ${options.pageRequests} pages within ${options.maxRunSeconds} s`,
    });
    for (let i = 0; i < options.pageRequests; i++) {
      const left = deadline - performance.now();
      if (left <= 0) return tooSlow();
      // Every 20th request starts over; every 10th jumps deep into the list.
      let path: string;
      if (i % 20 === 0 || next === undefined) path = "/users";
      else if (i % 10 === 5) {
        const after = FIRST_USER + Math.floor((((i * 7919) % 97) / 97) * options.users);
        path = `/users?after=${after}`;
      } else path = next;
      const t0 = performance.now();
      let response: Response;
      let html: string;
      try {
        response = await fetch(`${base}${path}`, {
          headers: { cookie },
          signal: AbortSignal.timeout(Math.ceil(left)),
        });
        html = await response.text();
      } catch (error) {
        if ((error as Error).name === "TimeoutError") return tooSlow();
        throw error;
      }
      times.push(performance.now() - t0);
      if (response.status !== 200) {
        // The admin logs why; its output says more than the error page.
        await running.stop();
        throw new Error(
          `GET ${path} answered ${response.status}: ${explainOutput(running.output)}`,
        );
      }
      if (path === "/users" && !html.includes(String(FIRST_USER))) {
        throw new Error(`the users page does not list the seeded users (no ${FIRST_USER})`);
      }
      next = /href="([^"]+)" rel="next"/.exec(html)?.[1]?.replaceAll("&amp;", "&");
    }
    return {
      values: { p50: percentile(times, 50), p99: percentile(times, 99) },
      counts: { ...NO_PROBLEMS },
    };
  } finally {
    await running.stop();
  }
}

/** Password sign-in: the session cookie. */
async function signIn(base: string): Promise<string> {
  const response = await fetch(`${base}/login`, {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ telegramId: String(ADMIN_ID), password: PASSWORD }).toString(),
  });
  const cookies = response.headers.getSetCookie().map((c) => c.split(";")[0]);
  if (response.status !== 303 || cookies.length === 0) {
    throw new Error(
      `password sign-in answered ${response.status}: ${(await response.text()).slice(0, 300)}`,
    );
  }
  return cookies.join("; ");
}
