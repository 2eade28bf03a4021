import { mkdir, readdir, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { KamihiError } from "@kamihi/core";
import { EMBEDDED_DB_URL, type ProjectSpec } from "./files/project.js";
import { initGitRepository } from "./git.js";
import { installDependencies } from "./install.js";
import type { Progress, ScaffoldOptions, ScaffoldResult } from "./options.js";
import { isPackageManager, packageManagers } from "./package-managers.js";
import { projectFiles } from "./project-files.js";
import { checkAdminId, checkMongoUrl, checkProjectName, checkToken } from "./rules.js";
import { createKamihiVersion } from "./version.js";

const silent: Progress = { step() {}, start() {}, stop() {} };

/**
 * Creates a Kamihi project in `join(directory, name)`: writes its files, then optionally
 * installs its dependencies and makes it a git repository. Every option is checked before
 * anything is written; an existing folder that is not empty is never touched.
 *
 * @throws {KamihiError} `KAMIHI_CREATE_INVALID_OPTION` for a value that cannot be used,
 *   `KAMIHI_CREATE_TARGET_EXISTS`, `KAMIHI_CREATE_WRITE_FAILED`, or
 *   `KAMIHI_CREATE_INSTALL_FAILED` (the files are kept; the message says what to run).
 */
export async function scaffold(
  options: ScaffoldOptions,
  progress: Progress = silent,
): Promise<ScaffoldResult> {
  const spec = checkOptions(options);
  const target = resolve(options.directory ?? process.cwd(), options.name);
  const created = await claimTarget(target);

  const files = projectFiles(spec);
  try {
    for (const file of files) {
      const path = join(target, ...file.path.split("/"));
      await mkdir(dirname(path), { recursive: true });
      // "wx": never overwrite, even if something appeared in the folder meanwhile.
      await writeFile(path, file.content, { flag: "wx", mode: file.mode ?? 0o644 });
    }
  } catch (error) {
    // A half-written project is worse than none: remove what this call created.
    if (created) await rm(target, { recursive: true, force: true });
    const reason = error instanceof Error ? error.message : String(error);
    throw new KamihiError(
      "KAMIHI_CREATE_WRITE_FAILED",
      `Could not write the project files in ${target}: ${reason}. Check that the folder is writable and the disk has space, then try again.`,
      { cause: error, details: { target } },
    );
  }
  progress.step(`Created ${options.name} in ${target}`);

  // Install first, so the first commit has the lockfile; a failed install still gets its
  // repository, then reports the failure.
  let installFailure: unknown;
  if (options.install) {
    try {
      await installDependencies(target, options.packageManager, progress);
    } catch (error) {
      installFailure = error;
    }
  }
  if (options.git) await initGitRepository(target, progress);
  if (installFailure !== undefined) throw installFailure;
  return { directory: target, files: files.map((file) => file.path) };
}

/**
 * The options as the file generators need them, or the first problem as a
 * `KAMIHI_CREATE_INVALID_OPTION` error naming the option (never its value: it may be a secret).
 */
function checkOptions(options: ScaffoldOptions): ProjectSpec {
  const invalid = (option: keyof ScaffoldOptions, message: string) =>
    new KamihiError("KAMIHI_CREATE_INVALID_OPTION", message, { details: { option } });
  const nameProblem = checkProjectName(String(options.name ?? ""));
  if (nameProblem !== undefined) throw invalid("name", nameProblem);
  if (options.token !== undefined) {
    const problem = checkToken(options.token);
    if (problem !== undefined) throw invalid("token", problem);
  }
  let mongodbUrl: string | undefined;
  if (options.storage !== "embedded") {
    mongodbUrl = typeof options.storage === "object" ? options.storage?.mongodbUrl : undefined;
    if (typeof mongodbUrl !== "string") {
      throw invalid(
        "storage",
        `storage must be "embedded" or { mongodbUrl: "mongodb://…" }; with "embedded" the bot uses ${EMBEDDED_DB_URL}.`,
      );
    }
    const problem = checkMongoUrl(mongodbUrl);
    if (problem !== undefined) throw invalid("storage", problem);
  }
  if (options.adminId !== undefined) {
    const problem = checkAdminId(options.adminId);
    if (problem !== undefined) throw invalid("adminId", problem);
  }
  if (!isPackageManager(options.packageManager)) {
    throw invalid(
      "packageManager",
      `packageManager must be one of ${packageManagers.join(", ")}, got ${JSON.stringify(options.packageManager)}.`,
    );
  }
  return {
    name: options.name,
    packageManager: options.packageManager,
    kamihiVersion: options.kamihiVersion ?? `^${createKamihiVersion}`,
    ...(options.token === undefined ? {} : { token: options.token }),
    ...(mongodbUrl === undefined ? {} : { mongodbUrl }),
    ...(options.adminId === undefined ? {} : { adminId: options.adminId }),
    ...(options.packageJson === undefined ? {} : { packageJson: options.packageJson }),
  };
}

/**
 * Makes sure `target` is an empty folder, creating it when missing. Resolves true when this
 * call created it (so a failed write may remove it).
 */
async function claimTarget(target: string): Promise<boolean> {
  try {
    await mkdir(target, { recursive: false });
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") {
      // The parent is missing too: create the whole path.
      try {
        await mkdir(target, { recursive: true });
        return true;
      } catch (nested) {
        throw cannotCreate(target, nested);
      }
    }
    if (code !== "EEXIST") throw cannotCreate(target, error);
  }
  if (!(await stat(target)).isDirectory()) {
    throw new KamihiError(
      "KAMIHI_CREATE_TARGET_EXISTS",
      `${target} exists and is not a folder. Choose another project name, or move that file away.`,
      { details: { target } },
    );
  }
  const entries = await readdir(target);
  if (entries.length > 0) {
    throw new KamihiError(
      "KAMIHI_CREATE_TARGET_EXISTS",
      `The folder ${target} already exists and is not empty (${entries.length} ${entries.length === 1 ? "entry" : "entries"}). Choose another project name, or remove or empty that folder first.`,
      { details: { target } },
    );
  }
  return false;
}

function cannotCreate(target: string, error: unknown): KamihiError<"KAMIHI_CREATE_WRITE_FAILED"> {
  const reason = error instanceof Error ? error.message : String(error);
  return new KamihiError(
    "KAMIHI_CREATE_WRITE_FAILED",
    `Could not create ${target}: ${reason}. Check that its parent folder is writable, or choose another with --dir.`,
    { cause: error, details: { target } },
  );
}
