import { performance } from "node:perf_hooks";
import {
  type BenchContext,
  type BenchOptions,
  dropDatabases,
  type Scenario,
  type ScenarioResult,
  seedProjects,
} from "./bench.js";
import { removeProjects } from "./kamihi-project.js";
import { type BenchReport, machineInfo, reportOk } from "./report.js";
import { admin } from "./scenarios/admin.js";
import { burst } from "./scenarios/burst.js";
import { conversations } from "./scenarios/conversations.js";
import { pacing } from "./scenarios/pacing.js";
import { startup } from "./scenarios/startup.js";
import { steady } from "./scenarios/steady.js";

/** A scenario whose preparation is done and whose run waits to be called. */
interface Planned {
  id: string;
  plan(context: BenchContext): () => Promise<ScenarioResult>;
}

function planned<P>(scenario: Scenario<P>): Planned {
  return {
    id: scenario.id,
    plan(context) {
      const prepared = scenario.prepare(context);
      return () => scenario.run(context, prepared);
    },
  };
}

/** Every scenario, by id, in the order they run. */
export const SCENARIOS: Record<string, Planned> = {
  burst: planned(burst("polling")),
  webhook: planned(burst("webhook")),
  steady: planned(steady),
  pacing: planned(pacing),
  startup: planned(startup),
  conversations: planned(conversations),
  admin: planned(admin),
};

/** The sizes of the default run: the figures, fitted to 10 minutes on 2 cores. */
export const DEFAULT_SIZES = {
  repetitions: 3,
  updates: 10_000,
  chats: 1_000,
  mongoUpdates: 500,
  webhookUpdates: 3_000,
  webhookConcurrency: 40,
  rate: 50,
  steadySeconds: 3,
  pacingUpdates: 90,
  floodLimit: 30,
  actions: [1, 50, 500],
  conversations: [1_000, 10_000],
  mongoConversations: 1_000,
  users: 100_000,
  pageRequests: 200,
  settleMs: 300,
  maxRunSeconds: 30,
};

/** Sizes for the CI test: every scenario, tiny, to prove each produces a clean result. */
export const TINY_SIZES: typeof DEFAULT_SIZES = {
  repetitions: 1,
  updates: 50,
  chats: 10,
  mongoUpdates: 50,
  webhookUpdates: 50,
  webhookConcurrency: 8,
  rate: 50,
  steadySeconds: 1,
  pacingUpdates: 10,
  floodLimit: 30,
  actions: [5],
  conversations: [20],
  mongoConversations: 20,
  users: 200,
  pageRequests: 10,
  settleMs: 150,
  maxRunSeconds: 60,
};

/** Runs the chosen scenarios (one after the other unless `concurrency` says otherwise) and returns what they measured. */
export async function runBench(options: BenchOptions, label = "latest"): Promise<BenchReport> {
  const context: BenchContext = { options, mongoProjects: [], seeding: [] };
  const scenarios: ScenarioResult[] = [];
  try {
    const chosen = options.scenarios.map((id) => {
      const scenario = SCENARIOS[id];
      if (scenario === undefined) throw new Error(`unknown scenario ${id}`);
      return { id, run: scenario.plan(context) };
    });
    if (context.seeding.length > 0) {
      const started = performance.now();
      options.log(`seeding ${context.seeding.length} Kamihi project(s)…`);
      await seedProjects(context);
      options.log(`seeded in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    }
    const results: ScenarioResult[] = [];
    let next = 0;
    // Measuring runs one scenario at a time; the CI test, which measures nothing, runs several.
    const worker = async () => {
      for (let i = next++; i < chosen.length; i = next++) {
        const { id, run } = chosen[i] as (typeof chosen)[number];
        options.log(`${id}…`);
        const started = performance.now();
        results[i] = await run();
        options.log(`${id}: done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
      }
    };
    const workers = Math.max(1, Math.min(options.concurrency ?? 1, chosen.length));
    await Promise.all(Array.from({ length: workers }, worker));
    scenarios.push(...results);
  } finally {
    await dropDatabases(context).catch((error: unknown) => {
      options.log(`could not drop the bench's MongoDB databases: ${(error as Error).message}`);
    });
    removeProjects();
  }
  const {
    checkout: _checkout,
    log: _log,
    scenarios: _ids,
    concurrency: _concurrency,
    mongoUrl,
    mongoSkip,
    ...sizes
  } = options;
  return {
    label,
    machine: machineInfo(options.checkout.root),
    sizes: { ...sizes, mongo: mongoUrl === undefined ? `skipped: ${mongoSkip}` : "yes" },
    repetitions: options.repetitions,
    ok: reportOk(scenarios),
    scenarios,
  };
}
