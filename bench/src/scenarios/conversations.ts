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
import { rssBytes } from "../proc.js";
import { CHAT_BASE, checkOnePerChat, commandUpdate, NO_PROBLEMS } from "../replies.js";
import { GRAMMY, KAMIHI_PUBLIC, KAMIHI_PUBLIC_MONGO, type Subject, TELEGRAF } from "../subjects.js";

const SUBJECTS = [TELEGRAF, GRAMMY, KAMIHI_PUBLIC, KAMIHI_PUBLIC_MONGO];
const PROMPT = "Your name?";

/**
 * Open conversations: `/ask` from N chats, each answered with the question's prompt and left
 * open; then the subject's RSS. The bare frameworks keep each open question in a Map; Kamihi
 * keeps conversations in its store.
 */
export const conversations: Scenario<Map<number, Map<string, PreparedProject[]>>> = {
  id: "conversations",
  prepare(context) {
    const { options } = context;
    const projects = new Map<number, Map<string, PreparedProject[]>>();
    for (const count of options.conversations) {
      const subjects = SUBJECTS.filter(
        (s) => s.store !== "mongo" || count <= options.mongoConversations,
      );
      projects.set(count, planProjects(context, subjects, "ask"));
    }
    return projects;
  },
  run: runConversations,
};

async function runConversations(
  context: BenchContext,
  projects: Map<number, Map<string, PreparedProject[]>>,
): Promise<ScenarioResult> {
  const started = performance.now();
  const { options } = context;
  const metrics: Metric[] = options.conversations.flatMap((count): Metric[] => [
    {
      key: `rss${count}`,
      label: `RSS, ${count.toLocaleString("en")} open`,
      unit: "MB",
      better: "lower",
      scale: 1e6,
    },
    {
      key: `open${count}`,
      label: `opened per second, ${count.toLocaleString("en")}`,
      unit: "conv/s",
      better: "higher",
    },
  ]);
  const subjects = await interleave(
    context,
    { id: "conversations", metrics },
    SUBJECTS,
    async (subject, rep): Promise<RunOutcome> => {
      const values: Record<string, number> = {};
      const counts = { ...NO_PROBLEMS };
      const problems: string[] = [];
      for (const count of options.conversations) {
        const project = projects.get(count)?.get(subject.id)?.[rep];
        if (subject.framework === "kamihi" && project === undefined) continue;
        const outcome = await openConversations(context, subject, count, project);
        Object.assign(values, outcome.values);
        problems.push(...(outcome.problems ?? []));
        for (const key of Object.keys(counts) as (keyof typeof counts)[])
          counts[key] += outcome.counts[key];
        // A size it could not finish in time says enough about the larger ones.
        if (outcome.incomplete !== undefined)
          return { values, counts, incomplete: outcome.incomplete };
      }
      return { values, counts };
    },
  );
  const skipped = options.conversations.filter((c) => c > options.mongoConversations);
  return {
    id: "conversations",
    title: `Open conversations (/ask with one question, from ${options.conversations.map((c) => c.toLocaleString("en")).join(" and ")} chats; limits raised)`,
    metrics,
    subjects,
    notes: [
      "Bare Telegraf and grammY keep each open question in a Map: the least a bot can do.",
      ...(skipped.length > 0 && options.mongoUrl !== undefined
        ? [
            `On MongoDB, only up to ${options.mongoConversations.toLocaleString("en")} conversations (--mongo-conversations), so the run fits its time.`,
          ]
        : []),
    ],
    durationMs: performance.now() - started,
  };
}

async function openConversations(
  context: BenchContext,
  subject: Subject,
  count: number,
  project: PreparedProject | undefined,
): Promise<RunOutcome> {
  const { options } = context;
  return withLaunchedSubject(
    context,
    subject,
    { project, launch: { actions: "ask" } },
    async ({ api, running, cutShort }) => {
      const chats = new Set<number>();
      const updates = Array.from({ length: count }, (_, i) => {
        chats.add(CHAT_BASE + i);
        return commandUpdate(CHAT_BASE + i, "ask", false);
      });
      const t0 = performance.now();
      api.enqueue(updates);
      const waited = await waitForReplies(
        context,
        api,
        () => api.replies.length >= count,
        () => `${api.replies.length} of ${count} prompts sent`,
      );
      if (waited.incomplete !== undefined) cutShort();
      const last = api.replies.at(-1)?.at ?? performance.now();
      // Let write-behind work and garbage collection catch up before reading memory.
      await settle(options.settleMs);
      const { counts, problems } = checkOnePerChat(api, chats, PROMPT);
      const opened = count - counts.lost;
      if (waited.incomplete !== undefined) counts.lost = 0;
      return {
        values: {
          [`rss${count}`]: rssBytes(running.pid),
          [`open${count}`]: opened / ((last - t0) / 1000),
        },
        counts,
        problems,
        ...waited,
      };
    },
  );
}
