import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Metric, ScenarioResult, SubjectResult } from "./bench.js";
import { clean, type ReplyCounts } from "./replies.js";
import { median } from "./stats.js";

/** Where results and the README live. */
export const BENCH_DIR = fileURLToPath(new URL("..", import.meta.url));
export const RESULTS_DIR = join(BENCH_DIR, "results");
const README = join(BENCH_DIR, "README.md");
const START = "<!-- bench:table:start -->";
const END = "<!-- bench:table:end -->";

/** The machine and code a run measured. */
export interface MachineInfo {
  cpu: string;
  cores: number;
  memoryBytes: number;
  node: string;
  date: string;
  /** The commit of the Kamihi checkout under test (`+changes` when its tree differs from it). */
  commit: string;
  checkout: string;
}

/** What `results/<label>.json` holds. */
export interface BenchReport {
  label: string;
  machine: MachineInfo;
  sizes: Record<string, unknown>;
  repetitions: number;
  ok: boolean;
  scenarios: ScenarioResult[];
}

export function machineInfo(checkout: string): MachineInfo {
  const git = (...args: string[]) => {
    try {
      return execFileSync("git", ["-C", checkout, ...args], { encoding: "utf8" }).trim();
    } catch {
      return "";
    }
  };
  const head = git("rev-parse", "--short", "HEAD") || "unknown";
  const changed = git("status", "--porcelain", "--untracked-files=no") !== "";
  return {
    cpu: cpus()[0]?.model ?? "unknown",
    cores: cpus().length,
    memoryBytes: totalmem(),
    node: process.version,
    date: new Date().toISOString(),
    commit: changed ? `${head}+changes` : head,
    checkout,
  };
}

/** A subject's runs are all right: every reply once and in order, and no run failed. */
export function subjectOk(subject: SubjectResult): boolean {
  return subject.skipped !== undefined || (subject.errors.length === 0 && clean(subject.counts));
}

export function reportOk(scenarios: readonly ScenarioResult[]): boolean {
  return scenarios.every((s) => s.subjects.every(subjectOk));
}

function formatNumber(value: number, metric: Metric): string {
  if (!Number.isFinite(value)) return "—";
  const scaled = value / (metric.scale ?? 1);
  const digits = metric.digits ?? (Math.abs(scaled) < 10 ? 1 : 0);
  return scaled.toLocaleString("en", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

function formatValue(value: number, metric: Metric): string {
  const number = formatNumber(value, metric);
  return number === "—" || metric.unit === "" ? number : `${number} ${metric.unit}`;
}

function problems(counts: ReplyCounts): string {
  const names: Record<keyof ReplyCounts, string> = {
    lost: "lost",
    duplicated: "duplicated",
    outOfOrder: "out of order",
    unexpected: "unexpected",
    redelivered: "redelivered",
    tooMany: "× 429",
  };
  const found = (Object.keys(names) as (keyof ReplyCounts)[])
    .filter((key) => counts[key] > 0)
    .map((key) => `${counts[key]} ${names[key]}`);
  return found.length === 0 ? "ok" : found.join(", ");
}

/** The median of a subject's metric, or undefined when it has none. */
function medianOf(subject: SubjectResult | undefined, key: string): number | undefined {
  const values = subject?.values[key];
  if (values === undefined || values.length === 0) return undefined;
  return median(values);
}

function ratio(value: number | undefined, base: number | undefined): string {
  if (value === undefined || base === undefined || !Number.isFinite(value) || !base) return "";
  return `${(value / base).toFixed(2)}×`;
}

/** One cell of the "before" columns: the value, or why there is none. */
function beforeCells(
  before: ScenarioResult | undefined,
  beforeReport: BenchReport | undefined,
  subjectId: string,
  metric: Metric,
): [string, string] {
  if (beforeReport === undefined) return ["", ""];
  if (before === undefined) return ["not measured", ""];
  const subject = before.subjects.find((s) => s.subject === subjectId);
  if (subject === undefined) return ["not measured", ""];
  if (subject.skipped !== undefined) return ["skipped", ""];
  const value = medianOf(subject, metric.key);
  if (value === undefined) {
    // Nothing measured at all: that version could not run it; some figures: not this one.
    const why = subject.errors[0] ?? subject.slow?.[0];
    const none = Object.keys(subject.values).length === 0 && why !== undefined;
    return [none ? `could not run: ${shortError(why)}` : "—", ""];
  }
  const base = medianOf(
    before.subjects.find((s) => s.subject === "telegraf"),
    metric.key,
  );
  return [formatValue(value, metric), subjectId === "telegraf" ? "" : ratio(value, base)];
}

function shortError(message: string): string {
  const line = message.split("\n").find((l) => l.trim() !== "") ?? "";
  return line.trim().replaceAll("|", "/").slice(0, 200);
}

function duration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  return seconds < 60 ? `${seconds} s` : `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
}

/** What the replies column says of a subject's runs. */
function verdict(subject: SubjectResult): string {
  if (subject.skipped !== undefined) return "";
  if (subject.errors.length > 0) {
    const runs = subject.errors.length;
    return `FAILED (${runs} problem${runs === 1 ? "" : "s"}): ${shortError(subject.errors[0] as string)}`;
  }
  const slow = subject.slow?.[0];
  if (slow !== undefined) {
    const found = problems(subject.counts);
    return `${shortError(slow)}${found === "ok" ? "" : `; ${found}`}`;
  }
  return problems(subject.counts);
}

/** The rows of one scenario: subject × metric, with ratios to bare Telegraf of the same run. */
function rows(
  scenario: ScenarioResult,
  before: ScenarioResult | undefined,
  beforeReport: BenchReport | undefined,
): string[][] {
  const telegraf = scenario.subjects.find((s) => s.subject === "telegraf");
  const out: string[][] = [];
  for (const subject of scenario.subjects) {
    const check = verdict(subject);
    const then = before?.subjects.find((s) => s.subject === subject.subject);
    const thenCheck = then === undefined ? "" : verdict(then);
    if (subject.skipped !== undefined) {
      out.push([
        subject.label,
        "",
        `skipped: ${subject.skipped}`,
        "",
        ...(beforeReport ? ["", "", thenCheck] : []),
        "",
      ]);
      continue;
    }
    scenario.metrics.forEach((metric, index) => {
      const value = medianOf(subject, metric.key);
      const base = medianOf(telegraf, metric.key);
      out.push([
        index === 0 ? subject.label : "",
        metric.label,
        value === undefined ? "—" : formatValue(value, metric),
        subject.subject === "telegraf" ? "" : ratio(value, base),
        index === 0 ? check : "",
        ...(beforeReport
          ? [
              ...beforeCells(before, beforeReport, subject.subject, metric),
              index === 0 ? thenCheck : "",
            ]
          : []),
      ]);
    });
  }
  return out;
}

function header(beforeReport: BenchReport | undefined): string[] {
  return [
    "subject",
    "metric",
    "now",
    "× Telegraf",
    "replies",
    ...(beforeReport
      ? [`before (${beforeReport.machine.commit})`, "× Telegraf (before)", "replies (before)"]
      : []),
  ];
}

/** The tables as Markdown (README) — one per scenario. */
export function markdownTables(report: BenchReport, beforeReport?: BenchReport): string {
  const lines: string[] = [];
  const m = report.machine;
  lines.push(
    `Measured ${m.date.slice(0, 10)} on ${m.cpu} (${m.cores} cores, ${(m.memoryBytes / 2 ** 30).toFixed(0)} GiB), Node ${m.node}, Kamihi ${m.commit}; medians of ${report.repetitions} interleaved runs.${beforeReport ? ` "before" is Kamihi ${beforeReport.machine.commit}, measured ${beforeReport.machine.date.slice(0, 10)} with its own bare Telegraf for its ratios.` : ""} Ratios are subject ÷ bare Telegraf of the same run.`,
    "",
  );
  for (const scenario of report.scenarios) {
    const before = beforeReport?.scenarios.find((s) => s.id === scenario.id);
    lines.push(`#### ${scenario.title} — ${duration(scenario.durationMs)}`, "");
    const head = header(beforeReport);
    lines.push(`| ${head.join(" | ")} |`, `|${head.map(() => " --- ").join("|")}|`);
    for (const row of rows(scenario, before, beforeReport)) lines.push(`| ${row.join(" | ")} |`);
    for (const note of scenario.notes) lines.push("", note);
    if (beforeReport !== undefined && before === undefined) {
      lines.push("", `Not measured on ${beforeReport.machine.commit}.`);
    }
    lines.push("");
  }
  return lines.join("\n");
}

/** The tables as aligned plain text (the terminal). */
export function textTables(report: BenchReport): string {
  const lines: string[] = [];
  for (const scenario of report.scenarios) {
    lines.push("", `${scenario.title} — ${duration(scenario.durationMs)}`);
    const table = [header(undefined), ...rows(scenario, undefined, undefined)];
    const widths =
      table[0]?.map((_, i) => Math.max(...table.map((r) => (r[i] ?? "").length))) ?? [];
    for (const row of table) {
      lines.push(
        `  ${row
          .map((cell, i) =>
            i >= 2 && i <= 3 ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0),
          )
          .join("  ")
          .trimEnd()}`,
      );
    }
    for (const note of scenario.notes) lines.push(`  ${note}`);
  }
  return lines.join("\n");
}

export function readReport(label: string): BenchReport | undefined {
  const file = join(RESULTS_DIR, `${label}.json`);
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, "utf8")) as BenchReport;
}

export function writeReport(report: BenchReport): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, `${report.label}.json`);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  return file;
}

/** Rewrites the README's table (between its markers) from results/latest.json and before.json. */
export function updateReadme(): boolean {
  const latest = readReport("latest");
  if (latest === undefined || !existsSync(README)) return false;
  const text = readFileSync(README, "utf8");
  const start = text.indexOf(START);
  const end = text.indexOf(END);
  if (start === -1 || end < start) return false;
  const table = markdownTables(latest, readReport("before"));
  writeFileSync(README, `${text.slice(0, start + START.length)}\n${table}\n${text.slice(end)}`);
  formatReadme();
  return true;
}

/** Lays the tables out as the repository's formatter does, so `pnpm lint` stays clean. */
function formatReadme(): void {
  const biome = join(BENCH_DIR, "..", "node_modules", ".bin", "biome");
  if (!existsSync(biome)) return;
  try {
    execFileSync(biome, ["format", "--write", README], { stdio: "ignore" });
  } catch {
    // Unformatted is still correct; `pnpm format` lays it out.
  }
}
