import { randomBytes } from "node:crypto";
import { readFileSync, readlinkSync, realpathSync, unlinkSync } from "node:fs";
import { link, open, readFile, rename, stat, unlink, utimes } from "node:fs/promises";
import { hostname } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { type Clock, KamihiError, type Logger, silentLogger, systemClock } from "@kamihi/core";
import { describeFsError, makeFolder, notWritableError } from "./file-access.js";
import { type Repeat, repeatEvery } from "./repeat.js";

/** Options of {@link acquireFileLock}. */
export interface FileLockOptions {
  /**
   * A lock not refreshed for this long is stale, whoever holds it. The holder writes its own
   * value into the lock, and others judge its lock by it. Default: 30 000 ms.
   */
  staleMs?: number;
  /** How often the holder refreshes its lock (at most half of `staleMs`). Default: a sixth of `staleMs`. */
  refreshMs?: number;
  /** Who holds the lock, as others will read it. Default: this process's command line. */
  owner?: string;
  /** Told of a stale lock taken over, and of a lock lost while held. */
  logger?: Logger;
  /** Called once when this process finds its lock gone to another. */
  onLost?: (holder: LockOwner | undefined) => void;
  /**
   * What "now" is: a lock's age is measured by it, and refreshes are stamped with it. Default:
   * the system clock; tests move it forward instead of waiting for a lock to go stale.
   */
  clock?: Clock;
  /** Runs the refreshes. Default: a wall-clock interval; tests tick it by hand. */
  repeat?: Repeat;
}

/** What a lock file holds: who holds it, and how to tell whether they still do. */
export interface LockOwner {
  /** The holder's process id. */
  pid: number;
  /** The holder's command, e.g. `kamihi -C bot dev`. */
  command: string;
  /** The holder's machine, for a folder shared between machines. */
  hostname: string;
  /** When the lock was taken (ISO 8601). */
  since: string;
  /** The holder's promise: it refreshes the lock at least this often (ms). */
  staleMs: number;
  /** Tells this holding apart from any other, even by the same process. */
  token: string;
  /** Linux: the holder's pid namespace (pids of two containers are not comparable). */
  pidNamespace?: string;
  /** Linux: the holder's start time, so a reused pid is not mistaken for the holder. */
  startTime?: string;
}

/** A lock held by this process; {@link FileLock.release} gives it up. */
export interface FileLock {
  /** The lock file: the data file's path with `.lock` appended. */
  readonly path: string;
  readonly owner: LockOwner;
  /** Whether another process has taken the lock over (this one must no longer write). */
  readonly lost: boolean;
  /** Stops refreshing and removes the lock file, if it is still this process's. */
  release(): Promise<void>;
}

const DEFAULT_STALE_MS = 30_000;
/** A lock file younger than this may still be being written (where hard links are missing). */
const WRITE_GRACE_MS = 2_000;
const ATTEMPTS = 5;

interface Held {
  token: string;
  /** Removes the lock file at once, for the process's exit. */
  removeSync: () => void;
}

/** The locks this process holds, by lock path; shared by every copy of this module. */
const held: Map<string, Held> = (() => {
  const key = Symbol.for("kamihi.db.fileLocks");
  const global = globalThis as { [key]?: Map<string, Held> };
  global[key] ??= new Map();
  return global[key];
})();

/** Adds the exit hook once per process, on the first lock taken. */
function holdUntilExit(path: string, entry: Held): void {
  const key = Symbol.for("kamihi.db.fileLocks.exitHook");
  const global = globalThis as { [key]?: true };
  if (global[key] === undefined) {
    global[key] = true;
    // A process that exits without closing its store still leaves no lock behind.
    process.on("exit", () => {
      for (const lock of held.values()) lock.removeSync();
    });
  }
  held.set(path, entry);
}

/** The lock file of `file`. */
export function lockPathOf(file: string): string {
  return `${file}.lock`;
}

/**
 * Makes this process the only one using `file` (the embedded store's data file), across
 * processes and machines sharing the folder: a lock file beside it (`file.lock`) names the
 * holder, and appears whole or not at all (written aside, then hard-linked into place, which
 * fails if it exists). The holder refreshes it every `refreshMs`. A lock is stale, and taken
 * over with a warning, when its holder stopped refreshing it for its `staleMs`, or when the
 * holder is a process of this machine that is no longer running.
 *
 * Fails with `KAMIHI_DB_LOCKED` naming the holder when another process holds it, and with
 * `KAMIHI_DB_NOT_WRITABLE` when the lock file cannot be written.
 */
export async function acquireFileLock(
  file: string,
  options: FileLockOptions = {},
): Promise<FileLock> {
  const path = lockPathOf(resolve(file));
  const staleMs = Math.max(1, options.staleMs ?? DEFAULT_STALE_MS);
  // Refreshed well within its staleness, whatever was asked: else it would go stale while held.
  const refreshMs = Math.max(
    1,
    Math.min(options.refreshMs ?? Math.round(staleMs / 6), Math.round(staleMs / 2)),
  );
  const log = options.logger ?? silentLogger;
  const clock = options.clock ?? systemClock;
  const owner: LockOwner = {
    pid: process.pid,
    command: options.owner ?? describeThisProcess(),
    hostname: hostname(),
    since: new Date(clock()).toISOString(),
    staleMs,
    token: randomBytes(12).toString("hex"),
  };
  const { pidNamespace, startTime } = processIdentity(process.pid);
  if (pidNamespace !== undefined) owner.pidNamespace = pidNamespace;
  if (startTime !== undefined) owner.startTime = startTime;

  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    if (await place(path, owner)) {
      return hold(path, owner, {
        refreshMs,
        log,
        clock,
        repeat: options.repeat ?? repeatEvery,
        onLost: options.onLost,
      });
    }
    const found = await readLock(path);
    if (found === "missing") continue;
    const stale = staleness(path, found, clock());
    if (stale === undefined) throw lockedError(file, path, found);
    await takeOver(path, found, stale, log);
  }
  // Others kept taking the lock between our looks: as good as held by someone.
  const found = await readLock(path);
  throw lockedError(file, path, found === "missing" ? "unreadable" : found);
}

/**
 * Puts `owner`'s lock file in place unless one exists: written aside, then hard-linked, so
 * that others never see it half written. Where hard links are not supported, created with
 * `O_EXCL` and written (others then allow it {@link WRITE_GRACE_MS} to be complete).
 */
async function place(path: string, owner: LockOwner): Promise<boolean> {
  const text = `${JSON.stringify(owner, null, 2)}\n`;
  const aside = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  try {
    await writeNew(aside, text);
  } catch (error) {
    throw notWritableError(path, "create", error);
  }
  try {
    await link(aside, path);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EEXIST") return false;
    if (code !== "EPERM" && code !== "ENOTSUP" && code !== "ENOSYS" && code !== "EOPNOTSUPP") {
      throw notWritableError(path, "create", error);
    }
  } finally {
    await unlink(aside).catch(() => {});
  }
  try {
    await writeNew(path, text);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw notWritableError(path, "create", error);
  }
}

async function writeNew(path: string, text: string): Promise<void> {
  const handle = await open(path, "wx");
  try {
    await handle.writeFile(text);
  } finally {
    await handle.close();
  }
}

/** A lock as found: its holder and when it was last refreshed. */
interface Found {
  owner: LockOwner | undefined;
  refreshedAt: number;
}

/** The lock at `path`, `"missing"`, or (holder unknown) a lock being written or damaged. */
async function readLock(path: string): Promise<Found | "missing"> {
  try {
    const [text, info] = await Promise.all([readFile(path, "utf8"), stat(path)]);
    return { owner: parseOwner(text), refreshedAt: info.mtimeMs };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return "missing";
    throw notWritableError(path, "open", error);
  }
}

function parseOwner(text: string): LockOwner | undefined {
  try {
    const value = JSON.parse(text) as Partial<LockOwner>;
    if (
      typeof value.pid === "number" &&
      typeof value.token === "string" &&
      typeof value.hostname === "string"
    ) {
      return {
        command: "an unknown command",
        since: "",
        staleMs: DEFAULT_STALE_MS,
        ...value,
      } as LockOwner;
    }
  } catch {
    // Being written (no hard links), or damaged: judged by its age below.
  }
  return undefined;
}

/** Why the lock found is stale at `now`, or `undefined` while its holder holds it. */
function staleness(path: string, found: Found, now: number): string | undefined {
  const age = now - found.refreshedAt;
  const { owner } = found;
  if (owner === undefined) {
    return age > WRITE_GRACE_MS ? "it names no process (the file is damaged)" : undefined;
  }
  if (age > owner.staleMs) {
    return `it was last refreshed ${Math.round(age / 1000)}s ago (its holder refreshes it every few seconds)`;
  }
  if (!sameMachine(owner)) return undefined;
  if (owner.pid === process.pid) {
    return held.get(path)?.token === owner.token
      ? undefined
      : "it was left by an earlier process with this process's pid";
  }
  const running = processIdentity(owner.pid);
  if (!isRunning(owner.pid) || running.state === "Z" || running.state === "X") {
    return `its process (pid ${owner.pid}) is no longer running`;
  }
  if (owner.startTime !== undefined && running.startTime !== undefined) {
    if (owner.startTime !== running.startTime) {
      return `its process (pid ${owner.pid}) is no longer running (the pid is another process's now)`;
    }
  }
  return undefined;
}

/** Whether `owner`'s pid means a process of this machine (and this pid namespace). */
function sameMachine(owner: LockOwner): boolean {
  if (owner.hostname !== hostname()) return false;
  const ours = processIdentity(process.pid).pidNamespace;
  return owner.pidNamespace === undefined || ours === undefined || owner.pidNamespace === ours;
}

function isRunning(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, as another user.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Moves a stale lock aside, then removes it. Renaming lets one contender win: a second one
 * finds nothing to rename. If what was moved is not the lock judged stale (someone took it
 * over in between), it is put back.
 */
async function takeOver(path: string, found: Found, reason: string, log: Logger): Promise<void> {
  const aside = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.stale`;
  try {
    await rename(path, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
    throw notWritableError(path, "create", error);
  }
  const moved = parseOwner(await readFile(aside, "utf8").catch(() => ""));
  if (moved?.token !== found.owner?.token) {
    await link(aside, path).catch(() => {});
  } else {
    log.warn(
      { lock: path, holder: found.owner, reason },
      `took over the stale lock ${path}${found.owner === undefined ? "" : ` of ${describeOwner(found.owner)}`}: ${reason}`,
    );
  }
  await unlink(aside).catch(() => {});
}

/** How a held lock is kept: refreshed every `refreshMs` by `repeat`, stamped by `clock`. */
interface Keeping {
  refreshMs: number;
  log: Logger;
  clock: Clock;
  repeat: Repeat;
  onLost: FileLockOptions["onLost"];
}

function hold(path: string, owner: LockOwner, keeping: Keeping): FileLock {
  const { log, onLost } = keeping;
  let lost = false;
  let released = false;
  let refreshing: Promise<void> = Promise.resolve();

  const lose = (holder: LockOwner | undefined) => {
    lost = true;
    stopRefreshing();
    held.delete(path);
    log.error(
      { lock: path, holder },
      `the lock ${path} was taken over by ${holder === undefined ? "another process" : describeOwner(holder)}: this process no longer writes the file`,
    );
    onLost?.(holder);
  };

  async function refresh() {
    if (lost || released) return;
    let found: Found | "missing";
    try {
      found = await readLock(path);
    } catch (error) {
      log.warn({ lock: path, err: error }, `could not refresh the lock ${path}; will retry`);
      return;
    }
    if (released) return;
    if (found === "missing") {
      // Removed by hand (its folder deleted, say): put it back, unless another took it since.
      let placed: boolean;
      try {
        await makeFolder(dirname(path));
        placed = await place(path, owner);
      } catch (error) {
        log.warn(
          { lock: path, err: error },
          `could not put back the removed lock ${path} (${describeFsError(error)}); will retry`,
        );
        return;
      }
      if (placed) {
        log.warn({ lock: path }, `the lock ${path} had been removed; this process put it back`);
        return;
      }
      const now = await readLock(path).catch(() => "missing" as const);
      if (now !== "missing" && now.owner?.token !== owner.token) lose(now.owner);
      return;
    }
    if (found.owner?.token !== owner.token) return lose(found.owner);
    const now = new Date(keeping.clock());
    await utimes(path, now, now).catch((error: unknown) => {
      log.warn(
        { lock: path, err: error },
        `could not refresh the lock ${path} (${describeFsError(error)}); will retry`,
      );
    });
  }

  // Refreshes never overlap: each waits for the one before it.
  const stopRefreshing = keeping.repeat(keeping.refreshMs, () => {
    refreshing = refreshing.then(refresh).catch(() => {});
    return refreshing;
  });

  /** Removes the lock file if it is still ours; synchronous for the process's exit. */
  const removeSync = () => {
    try {
      if (parseOwner(readFileSync(path, "utf8"))?.token === owner.token) unlinkSync(path);
    } catch {
      // Gone already, or unreadable: nothing of ours to remove.
    }
  };
  holdUntilExit(path, { token: owner.token, removeSync });

  return {
    path,
    owner,
    get lost() {
      return lost;
    },
    async release() {
      if (released) return;
      released = true;
      stopRefreshing();
      await refreshing;
      if (held.get(path)?.token === owner.token) held.delete(path);
      if (lost) return;
      const found = await readLock(path).catch(() => "missing" as const);
      if (found !== "missing" && found.owner?.token === owner.token) {
        await unlink(path).catch(() => {});
      }
    },
  };
}

/** `kamihi dev (pid 4242)`, or with the machine when it is another one. */
export function describeOwner(owner: LockOwner): string {
  const where = owner.hostname === hostname() ? "" : ` on ${owner.hostname}`;
  return `${owner.command} (pid ${owner.pid}${where})`;
}

function lockedError(file: string, path: string, found: Found | "unreadable"): KamihiError {
  const owner = found === "unreadable" ? undefined : found.owner;
  const self = owner !== undefined && owner.pid === process.pid && sameMachine(owner);
  const who =
    owner === undefined
      ? "another process"
      : self
        ? `this process (pid ${owner.pid}), through another store`
        : describeOwner(owner);
  const since = owner?.since ? `, since ${owner.since}` : "";
  const todo = self
    ? "Close the other store first, or share one store object."
    : "Only one process at a time may use it: stop that process first, or make the change through it (in the web admin, or with the running bot); to share the data between several processes, use MongoDB (db.url: mongodb://…).";
  return new KamihiError(
    "KAMIHI_DB_LOCKED",
    `The embedded store's file ${file} is in use by ${who}${since}. ${todo} (lock file: ${path})`,
    {
      details: {
        file,
        lock: path,
        ...(owner === undefined
          ? {}
          : { pid: owner.pid, command: owner.command, hostname: owner.hostname }),
      },
    },
  );
}

/**
 * This process as a person would name it: `kamihi -C bot dev` for the `kamihi` command (the
 * bin its script is installed as), else the script's name and arguments.
 */
export function describeThisProcess(): string {
  const script = process.argv[1];
  const args = process.argv.slice(2);
  const name = script === undefined ? basename(process.execPath) : commandName(script);
  const text = [name, ...args].join(" ");
  return text.length > 200 ? `${text.slice(0, 199)}…` : text;
}

/** The bin name a script is installed as (from its package's `bin`), else its file name. */
function commandName(script: string): string {
  let real: string;
  try {
    real = realpathSync(script);
  } catch {
    return basename(script);
  }
  let folder = dirname(real);
  for (let depth = 0; depth < 4; depth++) {
    try {
      const manifest = JSON.parse(readFileSync(join(folder, "package.json"), "utf8")) as {
        name?: string;
        bin?: string | Record<string, string>;
      };
      const bins =
        typeof manifest.bin === "string"
          ? { [(manifest.name ?? "").replace(/^@[^/]+\//, "")]: manifest.bin }
          : (manifest.bin ?? {});
      for (const [bin, target] of Object.entries(bins)) {
        if (bin !== "" && resolve(folder, target) === real) return bin;
      }
      return basename(real);
    } catch {
      const parent = dirname(folder);
      if (parent === folder) break;
      folder = parent;
    }
  }
  return basename(real);
}

/**
 * Linux: a process's pid namespace, start time and state, from `/proc`; elsewhere nothing
 * (the pid alone then tells whether the holder runs).
 */
function processIdentity(pid: number): {
  pidNamespace?: string;
  startTime?: string;
  state?: string;
} {
  if (process.platform !== "linux") return {};
  const identity: { pidNamespace?: string; startTime?: string; state?: string } = {};
  if (pid === process.pid) {
    try {
      identity.pidNamespace = readlinkSync("/proc/self/ns/pid");
    } catch {
      // No /proc mounted: judged by the pid alone.
    }
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // After the command in parentheses: state is field 3, start time field 22.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (fields[0] !== undefined) identity.state = fields[0];
    if (fields[19] !== undefined) identity.startTime = fields[19];
  } catch {
    // Not running, or no /proc.
  }
  return identity;
}
