// Prepares Kamihi projects' stores before their bots start, with the Kamihi of the checkout
// under test: `node seed-child.ts <checkout>/packages/kamihi/dist/index.js` with the jobs as
// JSON on stdin; prints one line of JSON with what it did. Self-contained (plain `node` runs
// it by stripping its types), because it runs against other checkouts too.
import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

interface SeedJob {
  root: string;
  role?: { name: string; actions: string[] };
  users?: { firstId: number; count: number; firstName: string; roles: string[] };
  admin?: { telegramId: number; firstName: string };
  password?: string;
  drop?: boolean;
}

interface Collection {
  insertMany(docs: Record<string, unknown>[]): Promise<unknown>;
}

interface LoadedProject {
  settings: { db: { url: string } };
  store: {
    collection(name: string): Collection;
    raw(): unknown;
  };
  users: {
    createRole(input: { name: string }): Promise<unknown>;
    grant(action: string, to: { roles: string[] }): Promise<unknown>;
    createUser(input: {
      telegramId: number;
      firstName: string;
      isAdmin: boolean;
    }): Promise<unknown>;
    init?(): Promise<void>;
  };
  close(): Promise<void>;
}

interface KamihiModule {
  bot: { load(options: { root: string }): Promise<LoadedProject> };
  hashPassword(password: string): Promise<string>;
}

const index = process.argv[2];
if (index === undefined) throw new Error("usage: node seed-child.ts <kamihi dist/index.js>");
const kamihi = (await import(pathToFileURL(index).href)) as KamihiModule;

let input = "";
for await (const chunk of process.stdin) input += chunk;
const jobs = JSON.parse(input) as SeedJob[];

/** The embedded store's file of a project, when it keeps one. */
function storeFile(project: LoadedProject, root: string): string | undefined {
  const url = project.settings.db.url;
  if (!url.startsWith("memory:")) return undefined;
  const file = new URL(url).searchParams.get("file");
  return file === null ? undefined : resolve(root, file);
}

/**
 * Grows the users of an embedded store's file from the two the store wrote to `count`, copying
 * their shape (so the file stays in this checkout's own format). Inserting 100,000 users one by
 * one through the embedded store takes minutes; reading them back from its file takes seconds.
 * Returns false, changing nothing, when the file does not look as expected.
 */
function growUsersFile(file: string, firstId: number, count: number): boolean {
  let snapshot: unknown;
  try {
    snapshot = JSON.parse(readFileSync(file, "utf8"));
  } catch {
    // Another format (a snapshot with a log, say): that store is given the users itself.
    return false;
  }
  const docs = findUserDocuments(snapshot, firstId);
  if (docs === undefined) return false;
  const template = docs.find((doc) => idOf(doc.telegramId) === firstId) as Record<string, unknown>;
  const wrap = (n: number) =>
    typeof template.telegramId === "object" ? { $numberInt: String(n) } : n;
  const kept = docs.filter((doc) => {
    const id = idOf(doc.telegramId);
    return id === undefined || id < firstId || id >= firstId + count;
  });
  const grown: Record<string, unknown>[] = [];
  for (let i = 0; i < count; i++) {
    const _id = (0xb000000000 + i).toString(16).padStart(24, "0");
    grown.push({
      ...template,
      telegramId: wrap(firstId + i),
      _id: typeof template._id === "object" ? { $oid: _id } : _id,
    });
  }
  docs.splice(0, docs.length, ...kept, ...grown);
  writeFileSync(file, JSON.stringify(snapshot));
  return true;
}

function idOf(value: unknown): number | undefined {
  if (typeof value === "number") return value;
  if (value !== null && typeof value === "object" && "$numberInt" in value)
    return Number((value as { $numberInt: string }).$numberInt);
  return undefined;
}

/** The array of user documents in a store file: the one holding the user `firstId`. */
function findUserDocuments(node: unknown, firstId: number): Record<string, unknown>[] | undefined {
  if (Array.isArray(node)) {
    if (
      node.some(
        (doc) => doc !== null && typeof doc === "object" && idOf(doc.telegramId) === firstId,
      )
    )
      return node as Record<string, unknown>[];
    return undefined;
  }
  if (node === null || typeof node !== "object") return undefined;
  for (const value of Object.values(node)) {
    const found = findUserDocuments(value, firstId);
    if (found !== undefined) return found;
  }
  return undefined;
}

async function insertUsers(
  project: LoadedProject,
  users: NonNullable<SeedJob["users"]>,
  from: number,
  to: number,
): Promise<void> {
  const collection = project.store.collection("users");
  // In large batches; the shape is the user service's own, createdAt comes from the store.
  for (let start = from; start < to; start += 20_000) {
    const docs: Record<string, unknown>[] = [];
    for (let i = start; i < Math.min(to, start + 20_000); i++) {
      docs.push({
        telegramId: users.firstId + i,
        firstName: users.firstName,
        isAdmin: false,
        roles: users.roles,
        status: "active",
        data: {},
      });
    }
    await collection.insertMany(docs);
  }
}

const results: Record<string, unknown>[] = [];
for (const job of jobs) {
  const started = Date.now();
  let project = await kamihi.bot.load({ root: job.root });
  const result: Record<string, unknown> = { root: job.root };
  let grow: { file: string; users: NonNullable<SeedJob["users"]> } | undefined;
  try {
    if (job.drop) {
      const db = project.store.raw() as { dropDatabase?: () => Promise<unknown> };
      await db.dropDatabase?.();
    } else {
      // Indexes first: the user service creates them when it first works.
      await project.users.init?.();
      if (job.role !== undefined) {
        await project.users.createRole({ name: job.role.name });
        for (const action of job.role.actions)
          await project.users.grant(action, { roles: [job.role.name] });
      }
      if (job.admin !== undefined) {
        await project.users.createUser({ ...job.admin, isAdmin: true });
      }
      if (job.users !== undefined) {
        const file = storeFile(project, job.root);
        // A big embedded store: two users through the store, the rest copied in its file.
        const copy = file !== undefined && job.users.count > 1000;
        await insertUsers(project, job.users, 0, copy ? 2 : job.users.count);
        if (copy) grow = { file, users: job.users };
        result.users = job.users.count;
      }
      if (job.password !== undefined) result.passwordHash = await kamihi.hashPassword(job.password);
    }
  } finally {
    await project.close();
  }
  if (grow !== undefined && !growUsersFile(grow.file, grow.users.firstId, grow.users.count)) {
    // Not the expected file: the slow way, through the store.
    project = await kamihi.bot.load({ root: job.root });
    try {
      await insertUsers(project, grow.users, 2, grow.users.count);
    } finally {
      await project.close();
    }
  }
  result.ms = Date.now() - started;
  results.push(result);
}
process.stdout.write(`${JSON.stringify(results)}\n`);
