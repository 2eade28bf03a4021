import { performance } from "node:perf_hooks";
import {
  type BenchContext,
  interleave,
  type Metric,
  type RunOutcome,
  type Scenario,
  type ScenarioResult,
} from "../bench.js";
import { FakeBotApi } from "../fake-api.js";
import { NO_PROBLEMS } from "../replies.js";
import {
  GRAMMY,
  KAMIHI_PUBLIC,
  kamihiProject,
  launch,
  type Running,
  type Subject,
  TELEGRAF,
  TOKEN,
} from "../subjects.js";

const SUBJECTS = [TELEGRAF, GRAMMY, KAMIHI_PUBLIC];

/**
 * Start-up: from spawning the process to its first getUpdates, with 1, 50 and 500 commands —
 * generated action files for Kamihi (discovered and compiled by `kamihi run`), a loop of
 * `bot.command()` for the bare frameworks.
 */
export const startup: Scenario<Map<number, string>> = {
  id: "startup",
  // One project per size, reused by every repetition (start-up writes nothing to keep).
  prepare: ({ options }) =>
    new Map(
      options.actions.map((count) => [
        count,
        kamihiProject(KAMIHI_PUBLIC, options.checkout, { count }),
      ]),
    ),
  run: runStartup,
};

async function runStartup(
  context: BenchContext,
  projects: Map<number, string>,
): Promise<ScenarioResult> {
  const started = performance.now();
  const { options } = context;
  const metrics: Metric[] = options.actions.map((count) => ({
    key: `start${count}`,
    label: `start-up, ${count} action${count === 1 ? "" : "s"}`,
    unit: "ms",
    better: "lower",
  }));
  const subjects = await interleave(
    context,
    { id: "startup", metrics },
    SUBJECTS,
    async (subject): Promise<RunOutcome> => {
      const values: Record<string, number> = {};
      for (const count of options.actions) {
        values[`start${count}`] = await startOnce(
          context,
          subject,
          count,
          projects.get(count) as string,
        );
      }
      return { values, counts: { ...NO_PROBLEMS } };
    },
  );
  return {
    id: "startup",
    title: `Start-up to the first getUpdates (${options.actions.join(" / ")} actions)`,
    metrics,
    subjects,
    notes: [
      "Kamihi (memory://) loads each action file with Node's type stripping and publishes the command menu before polling.",
    ],
    durationMs: performance.now() - started,
  };
}

async function startOnce(
  context: BenchContext,
  subject: Subject,
  count: number,
  project: string,
): Promise<number> {
  const api = new FakeBotApi({ token: TOKEN });
  await api.start();
  let running: Running | undefined;
  try {
    running = await launch(subject, {
      api,
      checkout: context.options.checkout,
      actions: { count },
      ...(subject.framework === "kamihi" ? { project } : {}),
    });
    return (api.firstPollAt as number) - running.startedAt;
  } finally {
    await running?.stop();
    await api.close();
  }
}
