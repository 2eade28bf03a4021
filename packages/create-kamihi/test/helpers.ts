import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { PassThrough } from "node:stream";
import { after } from "node:test";
import type { CreateIO, Progress } from "../src/index.js";

const made: string[] = [];
after(async () => {
  for (const dir of made.splice(0)) await rm(dir, { recursive: true, force: true });
});

/** A new empty folder under the OS temp folder, removed after the test file. */
export async function tempDir(label = "create-kamihi-"): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), label));
  made.push(dir);
  return dir;
}

/** Every file under `dir` (not `.git/`), relative with `/`, sorted. */
export async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)).split("\\").join("/"))
    .filter((path) => !path.startsWith(".git/"))
    .sort();
}

export const read = (dir: string, path: string) => readFile(join(dir, path), "utf8");

/** A token in @BotFather's format (digits, colon, 35 URL-safe characters). */
export const TOKEN = `123456789:${"AbC-9_".repeat(5)}xyzQ1`;

/** Progress that records every message, in order. */
export function recordingProgress(): Progress & { messages: string[] } {
  const messages: string[] = [];
  return {
    messages,
    step: (message) => messages.push(`step: ${message}`),
    start: (message) => messages.push(`start: ${message}`),
    stop: (message, ok = true) => messages.push(`${ok ? "stop" : "fail"}: ${message}`),
  };
}

/** Streams for `runCreate` that keep what it writes; stdin never ends (a prompt would hang). */
export function captureIO(cwd: string, interactive = false) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: string[] = [];
  const err: string[] = [];
  stdout.on("data", (chunk: Buffer) => out.push(chunk.toString()));
  stderr.on("data", (chunk: Buffer) => err.push(chunk.toString()));
  const io: CreateIO = { stdout, stderr, stdin: new PassThrough(), interactive, cwd };
  return { io, stdout: () => out.join(""), stderr: () => err.join("") };
}

/**
 * Runs `fn` with some environment variables changed (`undefined` removes one), then puts
 * them back. Commands spawned meanwhile inherit the changed environment.
 */
export async function withEnv<T>(
  changes: Record<string, string | undefined>,
  fn: () => Promise<T>,
): Promise<T> {
  const saved = Object.fromEntries(Object.keys(changes).map((key) => [key, process.env[key]]));
  const apply = (values: Record<string, string | undefined>) => {
    for (const [key, value] of Object.entries(values)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  };
  apply(changes);
  try {
    return await fn();
  } finally {
    apply(saved);
  }
}

/**
 * Environment changes for {@link withEnv} after which git sees only the configuration in
 * `home`: nothing from the system, this machine's user, or identity variables.
 */
export function isolatedGitEnv(home: string): Record<string, string | undefined> {
  return {
    HOME: home,
    USERPROFILE: home,
    XDG_CONFIG_HOME: join(home, ".config"),
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: undefined,
    GIT_AUTHOR_NAME: undefined,
    GIT_AUTHOR_EMAIL: undefined,
    GIT_COMMITTER_NAME: undefined,
    GIT_COMMITTER_EMAIL: undefined,
    EMAIL: undefined,
    GIT_DIR: undefined,
    GIT_WORK_TREE: undefined,
    GIT_INDEX_FILE: undefined,
  };
}
