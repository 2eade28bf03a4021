import { performance } from "node:perf_hooks";
import { FakeBotApi, type FakeBotApiOptions } from "./fake-api.js";
import {
  type Checkout,
  dbSettings,
  type SeedJob,
  type SeedResult,
  type StoreChoice,
  seed,
  writeSettings,
} from "./kamihi-project.js";
import { CHAT_BASE, NO_PROBLEMS, type ReplyCounts, USER_NAME } from "./replies.js";
import {
  kamihiProject,
  type LaunchOptions,
  launch,
  type Running,
  type Subject,
  TOKEN,
} from "./subjects.js";

/** Sizes and choices of a bench run. */
export interface BenchOptions {
  /** Runs of each subject per scenario, interleaved; the table shows medians. */
  repetitions: number;
  /** Burst: `/hello` updates and the private chats they come from. */
  updates: number;
  chats: number;
  /** Burst on MongoDB: fewer updates, so the run fits its time. */
  mongoUpdates: number;
  /** The same burst by webhook. */
  webhookUpdates: number;
  /** Webhook requests the fake Bot API keeps in flight. */
  webhookConcurrency: number;
  /** Steady load: updates per second, for this long. */
  rate: number;
  steadySeconds: number;
  /** Pacing: updates (one per chat) against a fake that allows `floodLimit` messages/s. */
  pacingUpdates: number;
  floodLimit: number;
  /** Start-up: numbers of generated actions. */
  actions: number[];
  /** Open conversations to measure memory with. */
  conversations: number[];
  /** Conversations on MongoDB at most (the largest size takes minutes there). */
  mongoConversations: number;
  /** Admin: users in the store, and GETs of the users list. */
  users: number;
  pageRequests: number;
  /** Scenario ids to run. */
  scenarios: string[];
  /** Subject ids to run (all when absent). */
  subjects?: string[];
  /** Scenarios run at once (1 for measuring; more only where timing does not matter). */
  concurrency?: number;
  /** The Kamihi whose subjects run. */
  checkout: Checkout;
  /** A MongoDB-compatible server; without it the MongoDB rows say why they did not run. */
  mongoUrl?: string;
  mongoSkip?: string;
  /** How long a started subject is left alone before it is measured. */
  settleMs: number;
  /**
   * A run that has not finished its updates after this long stops there: it is reported as too
   * slow (what it answered is still shown) and is not repeated, so the whole bench stays
   * bounded.
   */
  maxRunSeconds: number;
  /** Progress lines. */
  log: (line: string) => void;
}

/** One figure a scenario reports. */
export interface Metric {
  key: string;
  label: string;
  unit: string;
  better: "higher" | "lower";
  /** Divided by this for display (bytes → MB). */
  scale?: number;
  digits?: number;
}

/** What one run of one subject measured. */
export interface RunOutcome {
  values: Record<string, number>;
  counts: ReplyCounts;
  /** Why the run ended before its work was done (its time cap); its later repetitions are skipped. */
  incomplete?: string;
  /** What was wrong with its replies, in words (examples of unexpected ones). */
  problems?: string[];
}

/** A subject's runs in one scenario. */
export interface SubjectResult {
  subject: string;
  label: string;
  /** Metric key → one value per repetition. */
  values: Record<string, number[]>;
  /** Summed over the repetitions. */
  counts: ReplyCounts;
  errors: string[];
  /**
   * Runs cut short by the time cap: a missed target, shown in the table, but not a failure
   * (nothing was lost; the subject was only slower than the bench waits for).
   */
  slow?: string[];
  /** Why it did not run. */
  skipped?: string;
}

/** One scenario's results. */
export interface ScenarioResult {
  id: string;
  title: string;
  metrics: Metric[];
  subjects: SubjectResult[];
  notes: string[];
  durationMs: number;
}

/**
 * One scenario: `prepare` makes its Kamihi projects and plans their seeding (all scenarios'
 * plans are seeded together, once), then `run` measures.
 */
export interface Scenario<P = unknown> {
  id: string;
  prepare(context: BenchContext): P;
  run(context: BenchContext, prepared: P): Promise<ScenarioResult>;
}

/** Shared by the scenarios of one bench run. */
export interface BenchContext {
  options: BenchOptions;
  /** MongoDB projects made during the run, whose databases are dropped at the end. */
  mongoProjects: string[];
  /** Projects waiting for {@link seedProjects}. */
  seeding: { job: SeedJob; project: PreparedProject }[];
}

let databases = 0;

/** A fresh MongoDB database name for one project. */
function databaseName(): string {
  return `kamihi_bench_${process.pid}_${Date.now().toString(36)}_${++databases}`;
}

/** Whether the run includes this subject (`--subjects`). */
export function picked(context: BenchContext, subject: Subject): boolean {
  const wanted = context.options.subjects;
  return wanted === undefined || wanted.includes(subject.id);
}

/** Why a subject cannot run in this bench, or undefined when it can. */
export function unavailable(context: BenchContext, subject: Subject): string | undefined {
  if (subject.store === "mongo" && context.options.mongoUrl === undefined) {
    return (
      context.options.mongoSkip ?? "no MongoDB server URL (--mongo or KAMIHI_TEST_MONGODB_URL)"
    );
  }
  return undefined;
}

/** A Kamihi project ready to run: its folder and its store. */
export interface PreparedProject {
  root: string;
  store: StoreChoice;
  /** What seeding did, when it did something. */
  seeded?: SeedResult;
}

/**
 * Makes one project per repetition (or `copies`) for each Kamihi subject, each with a store of
 * its own (so no run sees another's data), and plans its seeding: the role with the permission
 * and the users that `/hello` needs for permission-checked subjects, plus `extra`. Every plan of
 * a bench run is seeded at once by {@link seedProjects}, in one child process.
 */
export function planProjects(
  context: BenchContext,
  subjects: readonly Subject[],
  actions: LaunchOptions["actions"],
  extra: (subject: Subject) => Partial<SeedJob> = () => ({}),
  copies = context.options.repetitions,
): Map<string, PreparedProject[]> {
  const { options } = context;
  const prepared = new Map<string, PreparedProject[]>();
  for (const subject of subjects) {
    if (subject.framework !== "kamihi" || !picked(context, subject)) continue;
    if (unavailable(context, subject) !== undefined) continue;
    const list: PreparedProject[] = [];
    for (let rep = 0; rep < copies; rep++) {
      const root = kamihiProject(subject, options.checkout, actions);
      const store: StoreChoice =
        subject.store === "mongo"
          ? { kind: "mongo", url: options.mongoUrl as string, name: databaseName() }
          : { kind: subject.store === "file" ? "file" : "memory" };
      if (store.kind === "mongo") context.mongoProjects.push(root);
      writeSettings(root, { db: dbSettings(store), log: { level: "warn", format: "json" } });
      const job: SeedJob = { root, ...extra(subject) };
      if (subject.hello === "template" && actions === "hello") {
        job.role = { name: "staff", actions: ["hello"] };
        job.users = {
          firstId: CHAT_BASE,
          count: Math.max(options.chats, options.pacingUpdates),
          firstName: USER_NAME,
          roles: ["staff"],
        };
      }
      const project: PreparedProject = { root, store };
      if (Object.keys(job).length > 1) context.seeding.push({ job, project });
      list.push(project);
    }
    prepared.set(subject.id, list);
  }
  return prepared;
}

/** Seeds every project planned so far, in one child process. */
export async function seedProjects(context: BenchContext): Promise<void> {
  const planned = context.seeding.splice(0);
  const results = await seed(
    context.options.checkout,
    planned.map((p) => p.job),
  );
  results.forEach((result, i) => {
    const project = planned[i]?.project;
    if (project !== undefined) project.seeded = result;
  });
}

/** Drops the MongoDB databases the run made. */
export async function dropDatabases(context: BenchContext): Promise<void> {
  const roots = context.mongoProjects.splice(0);
  await seed(
    context.options.checkout,
    roots.map((root) => ({ root, drop: true })),
  );
}

function formatValues(metrics: readonly Metric[], values: Record<string, number>): string {
  return metrics
    .filter((m) => values[m.key] !== undefined)
    .map((m) => {
      const value = (values[m.key] as number) / (m.scale ?? 1);
      return `${value.toFixed(m.digits ?? 0)} ${m.unit}`;
    })
    .join(", ");
}

function addCounts(total: ReplyCounts, more: ReplyCounts): void {
  for (const key of Object.keys(total) as (keyof ReplyCounts)[]) total[key] += more[key];
}

/**
 * Runs every subject `repetitions` times, interleaved (each round runs every subject once, in
 * a rotated order), so that all subjects share the machine's slow and fast moments.
 */
export async function interleave(
  context: BenchContext,
  scenario: { id: string; metrics: Metric[] },
  subjects: readonly Subject[],
  run: (subject: Subject, rep: number) => Promise<RunOutcome>,
  repetitions = context.options.repetitions,
): Promise<SubjectResult[]> {
  subjects = subjects.filter((subject) => picked(context, subject));
  const results = subjects.map(
    (subject): SubjectResult => ({
      subject: subject.id,
      label: subject.label,
      values: {},
      counts: { ...NO_PROBLEMS },
      errors: [],
      ...(unavailable(context, subject) === undefined
        ? {}
        : { skipped: unavailable(context, subject) as string }),
    }),
  );
  for (const result of results) {
    if (result.skipped !== undefined) {
      context.options.log(`  ${result.label}: skipped (${result.skipped})`);
    }
  }
  const tooSlow = new Set<string>();
  for (let rep = 0; rep < repetitions; rep++) {
    for (let i = 0; i < subjects.length; i++) {
      const index = (i + rep) % subjects.length;
      const subject = subjects[index] as Subject;
      const result = results[index] as SubjectResult;
      if (result.skipped !== undefined || tooSlow.has(subject.id)) continue;
      const started = performance.now();
      try {
        const outcome = await run(subject, rep);
        for (const [key, value] of Object.entries(outcome.values)) {
          const values = result.values[key] ?? [];
          values.push(value);
          result.values[key] = values;
        }
        addCounts(result.counts, outcome.counts);
        result.errors.push(...(outcome.problems ?? []));
        if (outcome.incomplete !== undefined) {
          result.slow = [...(result.slow ?? []), outcome.incomplete];
          tooSlow.add(subject.id);
          context.options.log(
            `  ${scenario.id} ${rep + 1}/${repetitions} ${subject.label}: ${outcome.incomplete}; not repeated`,
          );
        }
        const problems = Object.entries(outcome.counts)
          .filter(([, n]) => n > 0)
          .map(([k, n]) => `${n} ${k}`);
        context.options.log(
          `  ${scenario.id} ${rep + 1}/${repetitions} ${subject.label}: ${formatValues(scenario.metrics, outcome.values)}${problems.length > 0 ? ` — ${problems.join(", ")}` : ""} (${((performance.now() - started) / 1000).toFixed(1)} s)`,
        );
      } catch (error) {
        const message = (error as Error).message;
        result.errors.push(message);
        context.options.log(
          `  ${scenario.id} ${rep + 1}/${repetitions} ${subject.label}: FAILED: ${message.slice(0, 2000)}`,
        );
      }
    }
  }
  return results;
}

/** How a wait for replies ended: `incomplete` when the run's time cap cut it short. */
export interface Waited {
  incomplete?: string;
}

/**
 * Waits until `check()` holds. A subject that stops making calls for 30 s has lost what it
 * did not answer (counted as lost); one still busy at the run's time cap is too slow.
 */
export async function waitForReplies(
  context: BenchContext,
  api: FakeBotApi,
  check: () => boolean,
  progress: () => string,
): Promise<Waited> {
  const cap = context.options.maxRunSeconds;
  const how = await api.untilStalled(check, 30_000, cap * 1000);
  if (how === "deadline") return { incomplete: `too slow: ${progress()} within ${cap} s` };
  return {};
}

/** What a measuring run is handed: its own fake Bot API and the subject, started and settled. */
export interface LaunchedRun {
  api: FakeBotApi;
  running: Running;
  /** Stops the subject at once afterwards: a run cut at its time cap has nothing to drain. */
  cutShort(): void;
}

/**
 * One run of `subject`: a fresh fake Bot API, the subject launched on it (in the prepared
 * project, if any) and left to settle, then `measure`; the subject and the fake are stopped
 * whatever happens.
 */
export async function withLaunchedSubject(
  context: BenchContext,
  subject: Subject,
  setup: {
    project: PreparedProject | undefined;
    fake?: Omit<FakeBotApiOptions, "token">;
    launch?: Omit<LaunchOptions, "api" | "checkout" | "project" | "store">;
  },
  measure: (run: LaunchedRun) => Promise<RunOutcome>,
): Promise<RunOutcome> {
  const { options } = context;
  const { project } = setup;
  const api = new FakeBotApi({ token: TOKEN, ...setup.fake });
  await api.start();
  let running: Running | undefined;
  // A subject cut short by the time cap is not waited for: its drain measures nothing.
  let grace = 15_000;
  try {
    running = await launch(subject, {
      ...setup.launch,
      api,
      checkout: options.checkout,
      ...(project === undefined ? {} : { project: project.root, store: project.store }),
    });
    await settle(options.settleMs);
    return await measure({
      api,
      running,
      cutShort: () => {
        grace = 1000;
      },
    });
  } finally {
    await running?.stop(grace);
    await api.close();
  }
}

/** Lets a started subject finish its start-up work before it is measured. */
export function settle(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
