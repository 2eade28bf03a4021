// `pnpm bench`: Kamihi measured side by side with bare Telegraf and bare grammY.
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import type { BenchOptions } from "./bench.js";
import { HERE, openCheckout, removeProjects } from "./kamihi-project.js";
import { mongoServer } from "./mongo.js";
import { procAvailable } from "./proc.js";
import { textTables, updateReadme, writeReport } from "./report.js";
import { DEFAULT_SIZES, runBench, SCENARIOS, TINY_SIZES } from "./run.js";
import { killAll } from "./subjects.js";

const USAGE = `Usage: pnpm bench [options]

Scenarios (all by default; --scenarios picks some, comma-separated):
  ${Object.keys(SCENARIOS).join(", ")}

Subjects (all by default; --subjects picks some, comma-separated):
  telegraf, grammy, kamihi-public, kamihi-template, kamihi-public-mongo,
  kamihi-template-mongo, kamihi-admin-file, kamihi-admin-mongo (the admin scenario's)

Options:
  -r, --repetitions <n>       interleaved runs of each subject (default ${DEFAULT_SIZES.repetitions}; medians)
  --updates <n>               burst size (default ${DEFAULT_SIZES.updates})
  --chats <n>                 private chats the updates come from (default ${DEFAULT_SIZES.chats})
  --webhook-updates <n>       burst size by webhook (default ${DEFAULT_SIZES.webhookUpdates})
  --mongo-updates <n>         burst size on MongoDB, both modes (default ${DEFAULT_SIZES.mongoUpdates})
  --webhook-concurrency <n>   webhook requests in flight (default ${DEFAULT_SIZES.webhookConcurrency})
  --rate <n>                  steady load, updates per second (default ${DEFAULT_SIZES.rate})
  --steady-seconds <n>        steady load duration (default ${DEFAULT_SIZES.steadySeconds})
  --pacing-updates <n>        pacing burst, one update per chat (default ${DEFAULT_SIZES.pacingUpdates})
  --flood-limit <n>           messages per second the fake allows in pacing (default ${DEFAULT_SIZES.floodLimit})
  --actions <list>            start-up sizes (default ${DEFAULT_SIZES.actions.join(",")})
  --conversations <list>      open conversations (default ${DEFAULT_SIZES.conversations.join(",")})
  --mongo-conversations <n>   largest conversation count run on MongoDB (default ${DEFAULT_SIZES.mongoConversations})
  --users <n>                 users in the admin's store (default ${DEFAULT_SIZES.users})
  --page-requests <n>         GETs of the users page (default ${DEFAULT_SIZES.pageRequests})
  --max-run-seconds <n>       a run still busy after this long is reported as too slow and is not
                              repeated (default ${DEFAULT_SIZES.maxRunSeconds}), so the bench stays bounded
  --tiny                      the CI test's sizes (seconds, not minutes)
  --kamihi <checkout>         run the Kamihi subjects from another (built) checkout
  --label <name>              results/<name>.json (default: latest, or before with --kamihi)
  --mongo <url>               MongoDB-compatible server (default: KAMIHI_TEST_MONGODB_URL,
                              else a private FerretDB from scripts/mongo-test-server)
  --no-mongo                  skip the MongoDB rows (they say so)
  --no-write                  print only: no results/*.json, no README table
  --cpu-prof <dir>            run the Kamihi subjects under node --cpu-prof (profiles in <dir>)
  --readme                    only rewrite README.md's table from results/latest.json and
                              results/before.json
  -h, --help
`;

function fail(message: string): never {
  process.stderr.write(`error: ${message}\n\n${USAGE}`);
  process.exit(2);
}

function count(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    fail(`--${name} expects a whole number of at least 1, got "${value}"`);
  return n;
}

function counts(name: string, value: string | undefined, fallback: number[]): number[] {
  if (value === undefined) return fallback;
  return value.split(",").map((part) => count(name, part.trim(), 0));
}

let parsed: ReturnType<typeof parse>;
function parse() {
  return parseArgs({
    options: {
      repetitions: { type: "string", short: "r" },
      updates: { type: "string" },
      chats: { type: "string" },
      "mongo-updates": { type: "string" },
      "webhook-updates": { type: "string" },
      "webhook-concurrency": { type: "string" },
      rate: { type: "string" },
      "steady-seconds": { type: "string" },
      "pacing-updates": { type: "string" },
      "flood-limit": { type: "string" },
      actions: { type: "string" },
      conversations: { type: "string" },
      "mongo-conversations": { type: "string" },
      users: { type: "string" },
      "page-requests": { type: "string" },
      "max-run-seconds": { type: "string" },
      scenarios: { type: "string" },
      subjects: { type: "string" },
      tiny: { type: "boolean" },
      kamihi: { type: "string" },
      label: { type: "string" },
      mongo: { type: "string" },
      "no-mongo": { type: "boolean" },
      "no-write": { type: "boolean" },
      "cpu-prof": { type: "string" },
      readme: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    // pnpm passes a lone "--" through.
    args: process.argv.slice(2).filter((arg) => arg !== "--"),
  });
}
try {
  parsed = parse();
} catch (error) {
  fail((error as Error).message);
}
const { values } = parsed;
if (values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
if (values.readme) {
  if (!updateReadme()) fail("no results/latest.json, or README.md lacks the table's markers");
  process.stdout.write("README.md: table updated\n");
  process.exit(0);
}
if (!procAvailable()) fail("the bench reads CPU and memory from /proc: it runs on Linux only");

const base = values.tiny ? TINY_SIZES : DEFAULT_SIZES;
const scenarios = values.scenarios?.split(",").map((s) => s.trim()) ?? Object.keys(SCENARIOS);
for (const id of scenarios) {
  if (!(id in SCENARIOS))
    fail(`unknown scenario "${id}"; choose from ${Object.keys(SCENARIOS).join(", ")}`);
}
const SUBJECT_IDS = [
  "telegraf",
  "grammy",
  "kamihi-public",
  "kamihi-template",
  "kamihi-public-mongo",
  "kamihi-template-mongo",
  "kamihi-admin-file",
  "kamihi-admin-mongo",
];
for (const id of values.subjects?.split(",").map((s) => s.trim()) ?? []) {
  if (!SUBJECT_IDS.includes(id))
    fail(`unknown subject "${id}"; choose from ${SUBJECT_IDS.join(", ")}`);
}
let checkout: ReturnType<typeof openCheckout>;
try {
  checkout = openCheckout(values.kamihi ?? HERE);
} catch (error) {
  fail((error as Error).message);
}
if (values["cpu-prof"] !== undefined) {
  process.env.BENCH_CPU_PROF = resolve(values["cpu-prof"]);
  mkdirSync(process.env.BENCH_CPU_PROF, { recursive: true });
}
const label = values.label ?? (values.kamihi === undefined ? "latest" : "before");
if (!/^[\w.-]+$/.test(label))
  fail(`--label expects letters, digits, "-", "_" or ".", got "${label}"`);

// Piped into a pager that quits early, the bench still cleans up after itself.
process.stdout.on("error", () => {});
const log = (line: string) => process.stdout.write(`${line}\n`);
const mongo = await mongoServer(values["no-mongo"] ? "none" : values.mongo, log);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    process.stderr.write(`${signal}: stopping the subjects and cleaning up…\n`);
    killAll();
    removeProjects();
    void mongo.stop().finally(() => process.exit(130));
  });
}
if (mongo.skip !== undefined) log(`MongoDB rows: skipped (${mongo.skip})`);

const options: BenchOptions = {
  repetitions: count("repetitions", values.repetitions, base.repetitions),
  updates: count("updates", values.updates, base.updates),
  chats: count("chats", values.chats, base.chats),
  mongoUpdates: count("mongo-updates", values["mongo-updates"], base.mongoUpdates),
  webhookUpdates: count("webhook-updates", values["webhook-updates"], base.webhookUpdates),
  webhookConcurrency: count(
    "webhook-concurrency",
    values["webhook-concurrency"],
    base.webhookConcurrency,
  ),
  rate: count("rate", values.rate, base.rate),
  steadySeconds: count("steady-seconds", values["steady-seconds"], base.steadySeconds),
  pacingUpdates: count("pacing-updates", values["pacing-updates"], base.pacingUpdates),
  floodLimit: count("flood-limit", values["flood-limit"], base.floodLimit),
  actions: counts("actions", values.actions, base.actions),
  conversations: counts("conversations", values.conversations, base.conversations),
  mongoConversations: count(
    "mongo-conversations",
    values["mongo-conversations"],
    base.mongoConversations,
  ),
  users: count("users", values.users, base.users),
  pageRequests: count("page-requests", values["page-requests"], base.pageRequests),
  settleMs: base.settleMs,
  maxRunSeconds: count("max-run-seconds", values["max-run-seconds"], base.maxRunSeconds),
  scenarios,
  ...(values.subjects === undefined
    ? {}
    : { subjects: values.subjects.split(",").map((s) => s.trim()) }),
  checkout,
  ...(mongo.url === undefined ? {} : { mongoUrl: mongo.url }),
  ...(mongo.skip === undefined ? {} : { mongoSkip: mongo.skip }),
  log,
};

const started = performance.now();
log(
  `Kamihi from ${checkout.root}; ${options.repetitions} repetition(s); scenarios: ${scenarios.join(", ")}`,
);
let report: Awaited<ReturnType<typeof runBench>>;
try {
  report = await runBench(options, label);
} finally {
  await mongo.stop();
}
log(textTables(report));
log(`\nTotal: ${((performance.now() - started) / 1000).toFixed(0)} s`);
if (!values["no-write"]) {
  log(`Results: ${writeReport(report)}`);
  if (updateReadme()) log("README.md: table updated");
}
if (!report.ok) {
  log(
    "\nFAILED: some replies were lost, duplicated, out of order or unexpected, or a run failed (see above).",
  );
  process.exitCode = 1;
}
