import { randomBytes } from "node:crypto";
import { mkdir, open, stat, unlink } from "node:fs/promises";
import { dirname } from "node:path";
import { isKamihiError, KamihiError } from "@kamihi/core";

/**
 * `ENOENT: no such file or directory` from a Node.js file system error: its code and the
 * system's words, without the syscall and path Node.js appends (the caller names the path).
 */
export function describeFsError(error: unknown): string {
  if (isKamihiError(error) && error.cause !== undefined) return describeFsError(error.cause);
  const { code, message } = error as NodeJS.ErrnoException;
  if (typeof message !== "string") return String(error);
  const reason = message.split(", ")[0] ?? message;
  return code === undefined || reason.startsWith(code) ? reason : `${code}: ${reason}`;
}

/** A file system error of our own making, shaped like the ones Node.js raises. */
function fsError(code: string, text: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: ${text}`), { code });
}

/**
 * Creates `folder` and its missing parents, one level at a time. Node's own
 * `mkdir(…, { recursive: true })` never returns on some file systems (under `/proc` it loops
 * forever, sync or async), and says `EEXIST` where a parent is a file: this one fails with
 * the real reason of the level that cannot be made, naming it.
 */
export async function makeFolder(folder: string): Promise<void> {
  try {
    await mkdir(folder);
    return;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EEXIST") return assertFolder(folder);
    const parent = dirname(folder);
    if (code !== "ENOENT" || parent === folder) throw error;
  }
  await makeFolder(dirname(folder));
  try {
    await mkdir(folder);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    await assertFolder(folder);
  }
}

async function assertFolder(path: string): Promise<void> {
  if (!(await stat(path)).isDirectory()) {
    throw fsError("ENOTDIR", "not a directory; a file has that name");
  }
}

/** Where {@link checkWritableFile} failed, in words for the message. */
type Step = "folder" | "create" | "open";

/**
 * Checks that `file` can be kept where it is: its folder exists or can be created, a new file
 * can be created beside it (a real write, then removed), and the file, if it exists, opens
 * for writing. Fails at once with `KAMIHI_DB_NOT_WRITABLE` naming the path, the system's
 * reason and what to do, instead of failing on the first write much later. (A file that can
 * be written but not read passes: reading it fails next, with `KAMIHI_DB_UNREADABLE`.)
 */
export async function checkWritableFile(file: string): Promise<void> {
  const folder = dirname(file);
  let step: Step = "folder";
  try {
    await makeFolder(folder);
    step = "create";
    const probe = `${file}.${process.pid}.${randomBytes(4).toString("hex")}.probe`;
    const handle = await open(probe, "wx");
    try {
      await handle.writeFile("kamihi");
    } finally {
      await handle.close();
      await unlink(probe).catch(() => {});
    }
    step = "open";
    const existing = await open(file, "r+").catch(async (error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") return undefined;
      // Writable but not readable: loading it says so, with KAMIHI_DB_UNREADABLE.
      if (error.code === "EACCES" && (await opensForWriting(file))) return undefined;
      throw error;
    });
    await existing?.close();
  } catch (error) {
    throw notWritableError(file, step, error);
  }
}

async function opensForWriting(file: string): Promise<boolean> {
  try {
    await (await open(file, "a")).close();
    return true;
  } catch {
    return false;
  }
}

/** The `KAMIHI_DB_NOT_WRITABLE` error of `file`, failed at `step` for `error`. */
export function notWritableError(file: string, step: Step, error: unknown): KamihiError {
  const folder = dirname(file);
  const reason = describeFsError(error);
  const where =
    step === "folder"
      ? `its folder ${folder} cannot be created (${reason})`
      : step === "create"
        ? `no file can be created in ${folder} (${reason})`
        : `the file cannot be opened for writing (${reason})`;
  return new KamihiError(
    "KAMIHI_DB_NOT_WRITABLE",
    `The embedded store cannot keep its data in ${file}: ${where}. Choose another file in db.url (for example memory://?file=.kamihi/data.json) or fix the folder's permissions; memory:// alone keeps the data in memory only.`,
    {
      cause: error,
      details: { file, step, ...errnoDetails(error) },
    },
  );
}

function errnoDetails(error: unknown): Record<string, string> {
  const { code, path } = error as NodeJS.ErrnoException;
  return {
    ...(typeof code === "string" ? { reason: code } : {}),
    ...(typeof path === "string" ? { path } : {}),
  };
}
