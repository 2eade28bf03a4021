import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import type { Metric } from "../src/bench.js";
import { openCheckout } from "../src/kamihi-project.js";
import { NO_PROBLEMS } from "../src/replies.js";
import type { BenchReport } from "../src/report.js";
import { runBench, SCENARIOS, TINY_SIZES } from "../src/run.js";

// Every scenario of `pnpm bench` at a tiny size, against the built Kamihi of this checkout:
// each subject must produce its figures with every reply once, in order, and nothing else.
// Nothing here is timed: speed is what the bench reports, never what a test asserts.

const mongoUrl = process.env.KAMIHI_TEST_MONGODB_URL || undefined;
if (mongoUrl === undefined && process.env.KAMIHI_REQUIRE_MONGODB === "1") {
  throw new Error(
    "KAMIHI_REQUIRE_MONGODB=1 but KAMIHI_TEST_MONGODB_URL is not set: start scripts/mongo-test-server and export its URL.",
  );
}

describe("pnpm bench at a tiny size", { timeout: 240_000 }, () => {
  let report: BenchReport;
  const lines: string[] = [];

  before(async () => {
    report = await runBench(
      {
        ...TINY_SIZES,
        scenarios: Object.keys(SCENARIOS),
        checkout: openCheckout(),
        ...(mongoUrl === undefined
          ? { mongoSkip: "KAMIHI_TEST_MONGODB_URL is not set" }
          : { mongoUrl }),
        // Nothing is timed, so scenarios may share the machine.
        concurrency: 3,
        log: (line) => lines.push(line),
      },
      "test",
    );
  });

  for (const id of Object.keys(SCENARIOS)) {
    it(`${id}: every subject produces its figures, each reply once and in order`, () => {
      const scenario = report.scenarios.find((s) => s.id === id);
      assert.ok(scenario, `no result for ${id}; progress:\n${lines.join("\n")}`);
      assert.ok(scenario.subjects.length > 0);
      for (const subject of scenario.subjects) {
        if (subject.skipped !== undefined) {
          assert.equal(mongoUrl, undefined, `${subject.label} skipped: ${subject.skipped}`);
          assert.match(subject.subject, /mongo/);
          continue;
        }
        const why = `${id}, ${subject.label}; progress:\n${lines.join("\n")}`;
        assert.deepEqual(subject.errors, [], why);
        // A redelivery is no fault by itself (intake is at-least-once); handling one twice is.
        assert.deepEqual({ ...subject.counts, redelivered: 0 }, NO_PROBLEMS, why);
        for (const metric of scenario.metrics as Metric[]) {
          const values: number[] = subject.values[metric.key] ?? [];
          assert.equal(values.length, TINY_SIZES.repetitions, `${metric.label}: ${why}`);
          assert.ok(values.every(Number.isFinite), `${metric.label} = ${values}: ${why}`);
        }
      }
    });
  }

  it("runs the MongoDB rows whenever a server is given", () => {
    const mongoRows = report.scenarios.flatMap((s) =>
      s.subjects.filter((subject) => subject.subject.includes("mongo")),
    );
    assert.ok(mongoRows.length > 0);
    for (const row of mongoRows) {
      assert.equal(row.skipped === undefined, mongoUrl !== undefined, row.label);
    }
  });
});
