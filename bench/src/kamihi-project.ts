import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** A Kamihi checkout whose built `kamihi` the Kamihi subjects run. */
export interface Checkout {
  /** The repository's root. */
  root: string;
  /** Its `packages/kamihi`, which generated projects import as `kamihi`. */
  kamihi: string;
  /** Its built `kamihi` command. */
  cli: string;
}

/** The checkout this bench lives in. */
export const HERE = fileURLToPath(new URL("../..", import.meta.url));

/** Reads a checkout and checks that it is built, naming the fix when it is not. */
export function openCheckout(path: string = HERE): Checkout {
  const root = resolve(path);
  const kamihi = join(root, "packages", "kamihi");
  const cli = join(kamihi, "dist", "cli.js");
  if (!existsSync(join(kamihi, "package.json"))) {
    throw new Error(
      `--kamihi ${path}: no packages/kamihi there; give the root of a Kamihi checkout (e.g. made with git worktree add).`,
    );
  }
  if (!existsSync(cli)) {
    throw new Error(
      `--kamihi ${path}: ${cli} is missing; run \`pnpm install && pnpm build\` in ${root} first.`,
    );
  }
  return { root, kamihi, cli };
}

/** Where a Kamihi subject keeps its data. */
export type StoreChoice =
  | { kind: "memory" }
  | { kind: "file" }
  | { kind: "mongo"; url: string; name: string };

/** What a generated project's actions are. */
export type ActionSet =
  /** `/hello`, public: a short string. */
  | "public"
  /** `/hello`, granted through a role: an Eta template with the user's name. */
  | "template"
  /** `/ask`, public: one question before it runs. */
  | "ask"
  /** This many public actions, one file each (start-up). */
  | { count: number };

const BENCH_ROOT = fileURLToPath(new URL("..", import.meta.url));
let scratch: string | undefined;

/** A temporary folder for this run's projects, removed by {@link removeProjects}. */
function scratchDir(): string {
  scratch ??= mkdtempSync(join(tmpdir(), "kamihi-bench-"));
  return scratch;
}

export function removeProjects(): void {
  if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
  scratch = undefined;
}

let projects = 0;

/**
 * A project folder `kamihi run` can start: the actions, a package.json, and `kamihi` linked to
 * the checkout under test, so its actions import that checkout's `bot`.
 */
export function createProject(checkout: Checkout, actions: ActionSet, name: string): string {
  const root = join(scratchDir(), `${String(++projects).padStart(3, "0")}-${name}`);
  mkdirSync(join(root, "node_modules"), { recursive: true });
  symlinkSync(checkout.kamihi, join(root, "node_modules", "kamihi"), "dir");
  writeFileSync(
    join(root, "package.json"),
    `${JSON.stringify({ name: "bench-project", private: true, type: "module" }, null, 2)}\n`,
  );
  const action = (file: string, text: string) => {
    const path = join(root, "actions", file);
    mkdirSync(join(path, ".."), { recursive: true });
    writeFileSync(path, text);
  };
  if (actions === "public") {
    action(
      "hello/hello.ts",
      `import { bot } from "kamihi";

export default bot.action(
  async function hello({ args }) {
    return \`hello \${args}\`;
  },
  { description: "Say hello", public: true },
);
`,
    );
  } else if (actions === "template") {
    action(
      "hello/hello.ts",
      `import { bot } from "kamihi";

/** Not public: the user needs the permission, granted to their role. */
export default bot.action(
  async function hello({ args, user, template }) {
    return template({ name: user.firstName, n: args });
  },
  { description: "Say hello" },
);
`,
    );
    action("hello/hello.md.eta", "Hello <%= it.name %>: <%= it.n %>\n");
  } else if (actions === "ask") {
    action(
      "ask/ask.ts",
      `import { bot, q } from "kamihi";

export default bot.action(
  async function ask({ answers }) {
    return \`Thanks \${answers.name}\`;
  },
  { description: "Ask a name", public: true, questions: { name: q.string("Your name?") } },
);
`,
    );
  } else {
    for (let i = 0; i < actions.count; i++) {
      const id = `a${String(i).padStart(4, "0")}`;
      action(
        `${id}/${id}.ts`,
        `import { bot } from "kamihi";

export default bot.action(
  async function ${id}() {
    return "${id}";
  },
  { description: "Action ${id}", public: true },
);
`,
      );
    }
  }
  return root;
}

/** The `db` settings of a store choice. */
export function dbSettings(store: StoreChoice): Record<string, string> {
  switch (store.kind) {
    case "memory":
      return { url: "memory://" };
    case "file":
      return { url: "memory://?file=.kamihi/data.json" };
    case "mongo":
      return { url: store.url, name: store.name };
  }
}

/** Writes `kamihi.yaml` (as JSON, which YAML reads as it is). */
export function writeSettings(root: string, settings: Record<string, unknown>): void {
  writeFileSync(join(root, "kamihi.yaml"), `${JSON.stringify(settings, null, 2)}\n`);
}

/** One preparation of a project's store, done by {@link seed} before the bot starts. */
export interface SeedJob {
  root: string;
  /** Create this role and grant it these actions. */
  role?: { name: string; actions: string[] };
  /** Add `count` users with ids from `firstId`, straight into the store. */
  users?: { firstId: number; count: number; firstName: string; roles: string[] };
  /** Add this user as an admin (through the user service). */
  admin?: { telegramId: number; firstName: string };
  /** Return a `web.passwordHash` of this password, made by the checkout's `hashPassword()`. */
  password?: string;
  /** Drop the project's MongoDB database (cleaning up). */
  drop?: boolean;
}

/** What {@link seed} did for one job. */
export interface SeedResult {
  root: string;
  passwordHash?: string;
  users?: number;
  ms: number;
}

/**
 * Runs the jobs in one child process that loads each project with the checkout's own Kamihi
 * (`bot.load()`: its settings, store and user service), so the data has exactly the shape that
 * checkout reads.
 */
export function seed(checkout: Checkout, jobs: readonly SeedJob[]): Promise<SeedResult[]> {
  if (jobs.length === 0) return Promise.resolve([]);
  const script = join(BENCH_ROOT, "src", "seed-child.ts");
  const index = join(checkout.kamihi, "dist", "index.js");
  return new Promise((resolvePromise, reject) => {
    const child = execFile(
      process.execPath,
      ["--disable-warning=ExperimentalWarning", script, index],
      { env: childEnv(), maxBuffer: 64 * 1024 * 1024, timeout: 600_000 },
      (error, stdout, stderr) => {
        if (error !== null) {
          reject(new Error(`seeding the Kamihi projects failed: ${error.message}\n${stderr}`));
          return;
        }
        const last = stdout.trim().split("\n").at(-1) ?? "[]";
        resolvePromise(JSON.parse(last) as SeedResult[]);
      },
    );
    child.stdin?.end(JSON.stringify(jobs));
  });
}

/** The environment of a child: this one's, without settings that would override the bench's. */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith("KAMIHI_") || key.startsWith("BENCH_") || key === "NODE_TEST_CONTEXT")
      continue;
    if (key === "NODE_OPTIONS") continue;
    env[key] = value;
  }
  return { ...env, ...extra };
}
