import assert from "node:assert/strict";
import type { ActionInfo, ActionRegistry, Store, User } from "@kamihi/core";
import { createMemoryStore } from "@kamihi/db";
import { createUserService, type StoreUserService, type UserSchema } from "@kamihi/users";
import * as v from "valibot";
import { type AccessProject, type CliOptions, runCli } from "../../src/index.js";

/**
 * The bot's actions: `start` is public, `secret` and `buy` need a grant. Declared in name order:
 * the commands (and `@kamihi/users`) list actions in the registry's order.
 */
export const ACTIONS: readonly ActionInfo[] = [
  {
    name: "buy",
    commands: ["buy"],
    public: false,
    questions: [{ name: "amount", type: "integer", prompt: "How many?" }],
  },
  { name: "secret", commands: ["secret", "s"], public: false, questions: [] },
  { name: "start", commands: ["start"], description: "Say hello", public: true, questions: [] },
];

/** A read-only registry over `actions`, like the one `kamihi` builds from a project. */
export function registry(actions: readonly ActionInfo[] = ACTIONS): ActionRegistry {
  return {
    list: () => actions,
    get: (name) => actions.find((a) => a.name === name),
    byCommand: (command) => actions.find((a) => a.commands.includes(command)),
  };
}

/** The project's user model (models/user.ts): two custom fields with defaults. */
export const userSchema = v.object({
  plan: v.optional(v.picklist(["free", "pro"]), "free"),
  credits: v.optional(v.pipe(v.number(), v.integer()), 0),
});

/** A user model with one field of every type `--data` converts. */
export const richSchema = v.object({
  nickname: v.optional(v.string()),
  vip: v.optional(v.boolean(), false),
  since: v.optional(v.date()),
  tags: v.optional(v.array(v.string()), []),
  score: v.optional(v.number()),
});

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ProjectOptions {
  /** The user model; `null` for a project without one. Default: {@link userSchema}. */
  schema?: UserSchema | null;
  actions?: readonly ActionInfo[];
  /** Share a store between projects (the default is a fresh embedded store). */
  store?: Store;
  /** Replaces the project's `open` (the project is not opened then). */
  open?: CliOptions["open"];
  extend?: CliOptions["extend"];
}

export interface TestProject {
  users: StoreUserService;
  actions: ActionRegistry;
  store: Store;
  /** The root every `open(root)` was called with, in order. */
  roots: string[];
  /** How many opened projects were closed. */
  closes: number;
  /**
   * Runs `kamihi ...argv` with fresh outputs, then checks that every project the command opened
   * was closed exactly once, whether the command succeeded or not.
   */
  run(...argv: string[]): Promise<Run>;
  /** The stored user, which must exist. */
  user(telegramId: number): Promise<User>;
}

/** A project over the real user service and an embedded store, driven through `runCli`. */
export function project(options: ProjectOptions = {}): TestProject {
  const store = options.store ?? createMemoryStore();
  const actions = registry(options.actions);
  const schema = options.schema === undefined ? userSchema : options.schema;
  const users = createUserService({
    store,
    actions: () => actions.list().map((a) => a.name),
    ...(schema === null ? {} : { schema }),
  });
  const opened: { closes: number }[] = [];
  const tp: TestProject = {
    users,
    actions,
    store,
    roots: [],
    closes: 0,
    async run(...argv) {
      const stdout = new Capture();
      const stderr = new Capture();
      const code = await runCli(argv, {
        version: "1.2.3",
        stdout,
        stderr,
        open:
          options.open ??
          (async (root) => {
            tp.roots.push(root);
            const state = { closes: 0 };
            opened.push(state);
            const handle: AccessProject = {
              users,
              actions,
              close: async () => {
                state.closes += 1;
                tp.closes += 1;
              },
            };
            return handle;
          }),
        ...(options.extend === undefined ? {} : { extend: options.extend }),
      });
      assert.deepEqual(
        opened.map((p) => p.closes),
        opened.map(() => 1),
        `kamihi ${argv.join(" ")}: every opened project is closed once`,
      );
      return { code, stdout: stdout.text, stderr: stderr.text };
    },
    async user(telegramId) {
      const found = await users.getUser(telegramId);
      assert.ok(found, `user ${telegramId} exists`);
      return found;
    },
  };
  return tp;
}

/** An `Output` that keeps what is written. */
export class Capture {
  text = "";
  write(text: string): void {
    this.text += text;
  }
}

/** The help lines commander prints after a usage error. */
export const HINT = "(run with --help for usage)\n";

/** Asserts a usage error: exit 2, nothing on stdout, `message` (and the hint) on stderr. */
export function assertUsage(run: Run, message: string | RegExp): void {
  assert.equal(run.code, 2, `exit code (stderr: ${run.stderr})`);
  assert.equal(run.stdout, "");
  if (typeof message === "string") assert.ok(run.stderr.startsWith(message), run.stderr);
  else assert.match(run.stderr, message);
}

/** Asserts a failure: exit 1, nothing on stdout, exactly `error: <message>` on stderr. */
export function assertFailed(run: Run, message: string | RegExp): void {
  assert.equal(run.code, 1, `exit code (stderr: ${run.stderr})`);
  assert.equal(run.stdout, "");
  if (typeof message === "string") assert.equal(run.stderr, `error: ${message}\n`);
  else assert.match(run.stderr, message);
}

/** Asserts success: exit 0, nothing on stderr, and returns stdout. */
export function assertOk(run: Run, stdout?: string): string {
  assert.equal(run.stderr, "", "nothing on stderr");
  assert.equal(run.code, 0, "exit code");
  if (stdout !== undefined) assert.equal(run.stdout, stdout);
  return run.stdout;
}
