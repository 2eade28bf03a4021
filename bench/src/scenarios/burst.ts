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
import { cpuMicros, rssBytes } from "../proc.js";
import { checkHelloReplies, helloUpdates } from "../replies.js";
import { ALL_SUBJECTS, type Subject } from "../subjects.js";

const METRICS: Metric[] = [
  { key: "throughput", label: "throughput", unit: "upd/s", better: "higher" },
  { key: "cpuPerUpdate", label: "CPU per update", unit: "µs", better: "lower" },
  { key: "rssIdle", label: "RSS idle", unit: "MB", better: "lower", scale: 1e6 },
  { key: "rssAfter", label: "RSS after the burst", unit: "MB", better: "lower", scale: 1e6 },
];

/**
 * A burst: every update queued at once at the fake Bot API, taken by polling (or posted to the
 * webhook), each answered with one message. Throughput is updates over the time from queuing
 * to the last reply; CPU is the subject's process tree over the same span.
 */
export function burst(mode: "polling" | "webhook"): Scenario<Map<string, PreparedProject[]>> {
  const id = mode === "polling" ? "burst" : "webhook";
  return {
    id,
    prepare: (context) => planProjects(context, ALL_SUBJECTS, "hello"),
    run: (context, projects) => runBurst(context, mode, projects),
  };
}

async function runBurst(
  context: BenchContext,
  mode: "polling" | "webhook",
  projects: Map<string, PreparedProject[]>,
): Promise<ScenarioResult> {
  const started = performance.now();
  const { options } = context;
  const id = mode === "polling" ? "burst" : "webhook";
  const size = mode === "polling" ? options.updates : options.webhookUpdates;
  const mongo = Math.min(options.mongoUpdates, size);
  const sizeOf = (subject: Subject) => (subject.store === "mongo" ? mongo : size);
  const subjects = await interleave(
    context,
    { id, metrics: METRICS },
    ALL_SUBJECTS,
    (subject, rep) =>
      burstRun(context, subject, mode, sizeOf(subject), projects.get(subject.id)?.[rep]),
  );
  return {
    id,
    title: `Burst, ${mode} (${size.toLocaleString("en")} /hello over ${options.chats.toLocaleString("en")} chats${mongo < size ? `; ${mongo.toLocaleString("en")} on MongoDB` : ""}; limits raised)`,
    metrics: mode === "polling" ? METRICS : METRICS.slice(0, 2),
    subjects,
    notes:
      mode === "webhook"
        ? [
            `The fake Bot API posts with at most ${options.webhookConcurrency} requests in flight and one per chat, as Telegram does; bare Telegraf answers with webhookReply off, so every subject sends its reply as a sendMessage call.`,
          ]
        : [
            "Bare grammY's bot.start() handles one update at a time (no @grammyjs/runner); bare Telegraf handles a getUpdates batch at once.",
          ],
    durationMs: performance.now() - started,
  };
}

async function burstRun(
  context: BenchContext,
  subject: Subject,
  mode: "polling" | "webhook",
  count: number,
  project: PreparedProject | undefined,
): Promise<RunOutcome> {
  const { options } = context;
  return withLaunchedSubject(
    context,
    subject,
    { project, fake: { webhookConcurrency: options.webhookConcurrency }, launch: { mode } },
    async ({ api, running, cutShort }) => {
      const pid = running.pid;
      const rssIdle = rssBytes(pid);
      const updates = helloUpdates(count, options.chats);
      const cpu0 = cpuMicros(pid);
      const t0 = performance.now();
      api.enqueue(updates);
      const waited = await waitForReplies(
        context,
        api,
        () => api.replies.length >= count,
        () => `${api.replies.length} of ${count} answered`,
      );
      if (waited.incomplete !== undefined) cutShort();
      const cpu = cpuMicros(pid) - cpu0;
      const last = api.replies.at(-1)?.at ?? performance.now();
      const rssAfter = rssBytes(pid);
      // Late duplicates would land now.
      await settle(Math.min(200, options.settleMs));
      const { counts, answered, problems } = checkHelloReplies(api, updates);
      // Cut short by the time cap, the rest was not lost, only not answered yet.
      if (waited.incomplete !== undefined) counts.lost = 0;
      return {
        values: {
          throughput: answered.size / ((last - t0) / 1000),
          cpuPerUpdate: cpu / Math.max(1, answered.size),
          rssIdle,
          rssAfter,
        },
        counts,
        problems,
        ...waited,
      };
    },
  );
}
