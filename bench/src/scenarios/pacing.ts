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
import { KAMIHI_PUBLIC, KAMIHI_TEMPLATE, type Subject } from "../subjects.js";

const METRICS: Metric[] = [
  { key: "rate", label: "messages per second", unit: "msg/s", better: "higher", digits: 1 },
  { key: "ofLimit", label: "reached rate / limit", unit: "", better: "higher", digits: 3 },
];

/** Kamihi's own pacing: the bare frameworks send as fast as they can and meet 429s. */
const SUBJECTS = [KAMIHI_PUBLIC, KAMIHI_TEMPLATE];

/**
 * Kamihi's default rate limiter against a fake Bot API that enforces `floodLimit` messages per
 * second (any 1-second window) with 429 and `retry_after`: a burst of updates, one per chat,
 * should go out at just under the limit, with none lost and no 429.
 */
export const pacing: Scenario<Map<string, PreparedProject[]>> = {
  id: "pacing",
  prepare: (context) => planProjects(context, SUBJECTS, "hello"),
  run: runPacing,
};

async function runPacing(
  context: BenchContext,
  projects: Map<string, PreparedProject[]>,
): Promise<ScenarioResult> {
  const started = performance.now();
  const { options } = context;
  const subjects = await interleave(
    context,
    { id: "pacing", metrics: METRICS },
    SUBJECTS,
    (subject, rep) => pacingRun(context, subject, projects.get(subject.id)?.[rep]),
  );
  return {
    id: "pacing",
    title: `Default pacing (${options.pacingUpdates} /hello from as many chats; the fake allows ${options.floodLimit} msg/s, then 429)`,
    metrics: METRICS,
    subjects,
    notes: [
      "Kamihi only: bare Telegraf and grammY do not pace, so they would meet 429s and lose replies.",
    ],
    durationMs: performance.now() - started,
  };
}

async function pacingRun(
  context: BenchContext,
  subject: Subject,
  project: PreparedProject | undefined,
): Promise<RunOutcome> {
  const { options } = context;
  return withLaunchedSubject(
    context,
    subject,
    { project, fake: { floodLimit: options.floodLimit }, launch: { limits: "default" } },
    async ({ api, cutShort }) => {
      const count = options.pacingUpdates;
      const updates = helloUpdates(count, count);
      const before = api.replies.length;
      api.enqueue(updates);
      const waited = await waitForReplies(
        context,
        api,
        () => api.replies.length - before >= count,
        () => `${api.replies.length - before} of ${count} answered`,
      );
      if (waited.incomplete !== undefined) cutShort();
      await settle(Math.min(200, options.settleMs));
      const { counts, problems } = checkHelloReplies(api, updates);
      const sent = api.replies.slice(before);
      const first = sent[0]?.at ?? 0;
      const last = sent.at(-1)?.at ?? 0;
      const rate = sent.length > 1 ? (sent.length - 1) / ((last - first) / 1000) : Number.NaN;
      if (waited.incomplete !== undefined) counts.lost = 0;
      return { values: { rate, ofLimit: rate / options.floodLimit }, counts, problems, ...waited };
    },
  );
}
