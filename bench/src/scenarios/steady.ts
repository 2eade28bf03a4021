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
  settle,
  waitForReplies,
  withLaunchedSubject,
} from "../bench.js";
import { checkHelloReplies, helloUpdates } from "../replies.js";
import { percentile } from "../stats.js";
import { ALL_SUBJECTS, type Subject } from "../subjects.js";

const METRICS: Metric[] = [
  { key: "p50", label: "latency p50", unit: "ms", better: "lower", digits: 1 },
  { key: "p99", label: "latency p99", unit: "ms", better: "lower", digits: 1 },
];

/**
 * Steady load: `/hello` at a fixed rate, taken by long polling. Latency is the time from the
 * fake Bot API handing an update over (answering getUpdates) to the reply arriving.
 */
export const steady: Scenario<Map<string, PreparedProject[]>> = {
  id: "steady",
  prepare: (context) => planProjects(context, ALL_SUBJECTS, "hello"),
  run: runSteady,
};

async function runSteady(
  context: BenchContext,
  projects: Map<string, PreparedProject[]>,
): Promise<ScenarioResult> {
  const started = performance.now();
  const { options } = context;
  const subjects = await interleave(
    context,
    { id: "steady", metrics: METRICS },
    ALL_SUBJECTS,
    (subject, rep) => steadyRun(context, subject, projects.get(subject.id)?.[rep]),
  );
  return {
    id: "steady",
    title: `Steady load, polling (${options.rate} /hello per second for ${options.steadySeconds} s over ${options.chats.toLocaleString("en")} chats)`,
    metrics: METRICS,
    subjects,
    notes: [],
    durationMs: performance.now() - started,
  };
}

async function steadyRun(
  context: BenchContext,
  subject: Subject,
  project: PreparedProject | undefined,
): Promise<RunOutcome> {
  const { options } = context;
  return withLaunchedSubject(context, subject, { project }, async ({ api, cutShort }) => {
    const count = Math.max(1, Math.round(options.rate * options.steadySeconds));
    const updates = helloUpdates(count, options.chats);
    // Queued on a schedule (not a fixed interval), so timer drift never changes the rate.
    const t0 = performance.now();
    let sent = 0;
    await new Promise<void>((resolve) => {
      const tick = () => {
        const due = Math.min(
          count,
          Math.floor(((performance.now() - t0) * options.rate) / 1000) + 1,
        );
        if (due > sent) {
          api.enqueue(updates.slice(sent, due));
          sent = due;
        }
        if (sent >= count) resolve();
        else setTimeout(tick, 2);
      };
      tick();
    });
    const waited = await waitForReplies(
      context,
      api,
      () => api.replies.length >= count,
      () => `${api.replies.length} of ${count} answered`,
    );
    if (waited.incomplete !== undefined) cutShort();
    await settle(Math.min(200, options.settleMs));
    const { counts, answered, problems } = checkHelloReplies(api, updates);
    const latencies: number[] = [];
    for (const [id, reply] of answered) {
      const served = api.servedAt.get(id);
      if (served !== undefined) latencies.push(reply.at - served);
    }
    if (waited.incomplete !== undefined) counts.lost = 0;
    return {
      values: { p50: percentile(latencies, 50), p99: percentile(latencies, 99) },
      counts,
      problems,
      ...waited,
    };
  });
}
