/**
 * How fast the admin's users page answers with many users: seeds a store, starts the admin on
 * port 0, signs in with a password and times GETs of the first page, a middle page, the last
 * page and a search over real HTTP. Run by hand; nothing here asserts a time.
 *
 *   node --import tsx bench/users-page.ts [--store memory|mongodb] [--users 100000]
 *        [--rounds 200] [--warmup 5] [--code DIR] [--db DIR] [--trace] [--timeout-ms N]
 *
 * `--store mongodb` needs KAMIHI_TEST_MONGODB_URL (scripts/mongo-test-server start); its data
 * is kept in the database `kamihi_bench_users` and seeded again only when the count differs.
 * `--code DIR` takes @kamihi/users and @kamihi/admin from `DIR/packages/*` (e.g. a `git
 * archive` of another commit) and `--db DIR` takes @kamihi/db from there, so one change can be
 * measured alone. `--trace` counts the store operations of one request of each kind.
 * `--timeout-ms` raises the MongoDB store's operation timeout (default 10 s), to see how long a
 * page that times out would take.
 */
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import type { Collection, Document, Store } from "@kamihi/core";

const { values: args } = parseArgs({
  options: {
    store: { type: "string", default: "memory" },
    users: { type: "string", default: "100000" },
    rounds: { type: "string", default: "200" },
    code: { type: "string" },
    db: { type: "string" },
    trace: { type: "boolean", default: false },
    "timeout-ms": { type: "string" },
    warmup: { type: "string", default: "5" },
  },
});

const here = new URL("../../../", import.meta.url).pathname;
const codeRoot = args.code ?? here;
const dbRoot = args.db ?? here;
const USERS = Number(args.users);
const ROUNDS = Number(args.rounds);
const WARMUP = Number(args.warmup);
const PASSWORD = "bench password";

const dbPkg = await import(`${dbRoot}/packages/db/src/index.ts`);
const usersPkg = await import(`${codeRoot}/packages/users/src/index.ts`);
const adminPkg = await import(`${codeRoot}/packages/admin/src/index.ts`);

const FIRST = ["Ada", "Alan", "Grace", "Linus", "Barbara", "Edsger", "Donald", "Frances", "Ken"];
const LAST = Array.from({ length: 100 }, (_, i) => `Surname${String(i).padStart(2, "0")}`);
LAST[42] = "Hopper";

/** A deterministic pseudo-random sequence (mulberry32), so every run seeds the same users. */
function random(seed: number) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** `count` distinct Telegram ids in a shuffled order (the order people registered in). */
function telegramIds(count: number): number[] {
  const next = random(7);
  const ids = new Set<number>();
  while (ids.size < count) ids.add(10_000 + Math.floor(next() * 9_000_000_000));
  return [...ids];
}

function userDoc(telegramId: number, i: number, next: () => number): Document {
  const last = LAST[i % LAST.length] as string;
  const statusRoll = next();
  return {
    telegramId,
    firstName: FIRST[i % FIRST.length],
    ...(i % 3 === 0 ? {} : { lastName: last }),
    ...(i % 2 === 0 ? { username: `${last.toLowerCase()}_${i}` } : {}),
    languageCode: "en",
    isAdmin: i % 5000 === 0,
    roles: i % 10 === 0 ? ["staff"] : i % 25 === 0 ? ["vip", "staff"] : [],
    status: statusRoll < 0.9 ? "active" : statusRoll < 0.95 ? "pending" : "blocked",
    data: {},
    lastSeenAt: new Date(Date.UTC(2025, 0, 1) + i * 60_000),
  };
}

async function seed(store: Store): Promise<number[]> {
  const users = store.collection("users") as Collection<Document>;
  const ids = telegramIds(USERS);
  // A marker read by _id: counting 100,000 users on FerretDB 1.x takes longer than a timeout.
  const meta = store.collection("bench_meta") as Collection<Document>;
  const seeded = await meta.findOne({ _id: "seed" });
  if (seeded?.users === USERS) return ids;
  if (store.kind === "mongodb") {
    // Faster than deleting 100,000 users one filter pass at a time.
    await (store.raw() as { dropDatabase(): Promise<unknown> }).dropDatabase();
  } else {
    await users.deleteMany({});
  }
  await store.collection("roles").deleteMany({});
  await store.collection("roles").insertMany([{ name: "staff" }, { name: "vip" }]);
  const next = random(11);
  const started = performance.now();
  const docs = ids.map((id, i) => userDoc(id, i, next));
  docs.push({ telegramId: 1, firstName: "Admin", isAdmin: true, roles: [], status: "active" });
  if (store.kind === "memory") {
    // Straight into the table: the embedded store checks each insert's _id by a scan, which
    // makes 100,000 single inserts quadratic; what it stores is the same.
    const { tables } = store.raw() as { tables: Map<string, { documents: Document[] }> };
    const table = tables.get("kamihi_users") ?? { documents: [], indexes: [] };
    tables.set("kamihi_users", table);
    const now = new Date();
    table.documents.push(
      ...docs.map((doc, i) => ({ _id: `bench${i}`, createdAt: now, updatedAt: now, ...doc })),
    );
  } else {
    for (let i = 0; i < docs.length; i += 1000) await users.insertMany(docs.slice(i, i + 1000));
  }
  await meta.insertOne({ _id: "seed", users: USERS });
  console.log(`seeded ${USERS} users in ${Math.round(performance.now() - started)} ms`);
  return ids;
}

/** Wraps every collection so one request's store operations can be counted and timed. */
function traced(store: Store) {
  const log: { op: string; ms: number }[] = [];
  let on = false;
  const wrapped: Store = {
    ...store,
    collection(name: string) {
      const real = store.collection(name) as unknown as Record<string, unknown>;
      return new Proxy(real, {
        get(target, key) {
          const value = target[key as string];
          if (typeof value !== "function") return value;
          return async (...params: unknown[]) => {
            const started = performance.now();
            try {
              return await (value as (...p: unknown[]) => Promise<unknown>)(...params);
            } finally {
              if (on) log.push({ op: `${name}.${String(key)}`, ms: performance.now() - started });
            }
          };
        },
      }) as unknown as ReturnType<Store["collection"]>;
    },
  } as Store;
  return {
    store: wrapped,
    start() {
      log.length = 0;
      on = true;
    },
    stop() {
      on = false;
      return [...log];
    },
  };
}

/** Only errors, on stderr: a failing page says why. */
const consoleLogger = {
  child: () => consoleLogger,
  error: (...params: unknown[]) => console.error(...params),
  warn: () => {},
  info: () => {},
  debug: () => {},
};

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;

async function main() {
  let store: Store;
  if (args.store === "mongodb") {
    const url = process.env.KAMIHI_TEST_MONGODB_URL;
    if (!url) throw new Error("Set KAMIHI_TEST_MONGODB_URL (scripts/mongo-test-server start).");
    store = dbPkg.createStore({
      url,
      name: "kamihi_bench_users",
      ...(args["timeout-ms"] ? { operationTimeoutMs: Number(args["timeout-ms"]) } : {}),
    });
  } else {
    store = dbPkg.createMemoryStore();
  }
  await store.connect();
  const ids = await seed(store);
  const tracer = traced(store);
  const users = usersPkg.createUserService({ store: tracer.store });
  await users.init();
  const admin = await adminPkg.createAdmin({
    users,
    actions: { list: () => [], get: () => undefined, byCommand: () => undefined },
    store: tracer.store,
    port: 0,
    passwordHash: await adminPkg.hashPassword(PASSWORD),
    logger: consoleLogger,
  });
  const base = await admin.listen();
  try {
    const login = await fetch(`${base}/login`, {
      method: "POST",
      redirect: "manual",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ telegramId: "1", password: PASSWORD }).toString(),
    });
    const cookie = login.headers
      .getSetCookie()
      .map((c) => c.split(";")[0])
      .join("; ");
    if (login.status !== 303 || !cookie.includes("kamihi_admin=")) {
      throw new Error(`signing in answered ${login.status}: ${await login.text()}`);
    }
    const sorted = [...ids, 1].sort((a, b) => a - b);
    const cursorAt = (index: number) => String(sorted[index]);
    const pages = {
      first: "/users",
      middle: `/users?after=${cursorAt(Math.floor(sorted.length / 2))}`,
      last: `/users?after=${cursorAt(sorted.length - 31)}`,
      search: "/users?search=hopper",
    };
    const get = async (path: string) => {
      const response = await fetch(`${base}${path}`, { headers: { cookie }, redirect: "manual" });
      const body = await response.text();
      if (response.status !== 200) throw new Error(`${path} answered ${response.status}`);
      return body;
    };
    for (const [name, path] of Object.entries(pages)) {
      const body = await get(path);
      const rows = (body.match(/<tr>/g) ?? []).length - 1;
      const next = body.includes('rel="next"');
      console.log(`${name.padEnd(6)} ${path}: ${rows} rows, next link ${next ? "yes" : "no"}`);
      if (args.trace) {
        tracer.start();
        const started = performance.now();
        await get(path);
        const total = performance.now() - started;
        const ops = tracer.stop();
        console.log(
          `  one request ${total.toFixed(1)} ms: ${ops.map((o) => `${o.op} ${o.ms.toFixed(1)}`).join(", ")}`,
        );
      }
    }
    console.log(`\n${args.store}, ${USERS} users, ${ROUNDS} GETs each (after ${WARMUP} warm-ups):`);
    for (const [name, path] of Object.entries(pages)) {
      for (let i = 0; i < WARMUP; i++) await get(path);
      const times: number[] = [];
      for (let i = 0; i < ROUNDS; i++) {
        const started = performance.now();
        await get(path);
        times.push(performance.now() - started);
      }
      times.sort((a, b) => a - b);
      console.log(
        `${name.padEnd(6)} p50 ${percentile(times, 50).toFixed(1).padStart(8)} ms   p99 ${percentile(times, 99).toFixed(1).padStart(8)} ms   max ${(times.at(-1) ?? 0).toFixed(1).padStart(8)} ms`,
      );
    }
  } finally {
    await admin.close();
    await store.close();
  }
}

await main();
