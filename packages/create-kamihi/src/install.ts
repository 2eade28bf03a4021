import { KamihiError } from "@kamihi/core";
import type { Progress } from "./options.js";
import { installCommand, type PackageManager } from "./package-managers.js";
import { runCommand } from "./run-command.js";

/** Lines of the failed command's output shown in the error. */
const SHOWN_LINES = 20;

/**
 * Runs `<pm> install` in the new project. On failure the files stay where they are and the
 * error says which command failed and how to run it by hand.
 */
export async function installDependencies(
  directory: string,
  packageManager: PackageManager,
  progress: Progress,
): Promise<void> {
  const { command, args } = installCommand(packageManager);
  const shown = [command, ...args].join(" ");
  const byHand = `The project files are in place: run \`cd ${quoteForShell(directory)} && ${shown}\` by hand.`;
  progress.start(`Installing dependencies with ${packageManager}`);
  const outcome = await runCommand(command, args, { cwd: directory });
  if (outcome.kind === "exited" && outcome.code === 0) {
    progress.stop("Installed dependencies");
    return;
  }
  progress.stop(`Installing dependencies with ${packageManager} failed`, false);
  if (outcome.kind === "not-started") {
    const fix =
      outcome.errorCode === "ENOENT"
        ? `${packageManager} is not installed or not on PATH. Install it (${howToGet(packageManager)}) or choose another package manager with --pm.`
        : `It could not start (${outcome.message}).`;
    throw new KamihiError("KAMIHI_CREATE_INSTALL_FAILED", `\`${shown}\` failed: ${fix} ${byHand}`, {
      details: { directory, command: shown },
    });
  }
  const ending =
    outcome.kind === "killed"
      ? `was stopped by ${outcome.signal}`
      : `exited with code ${outcome.code}`;
  const tail = lastLines(outcome.output, SHOWN_LINES);
  throw new KamihiError(
    "KAMIHI_CREATE_INSTALL_FAILED",
    `\`${shown}\` ${ending}. Fix the cause${tail === "" ? "" : " (its output ends with the lines below)"}, then install again. ${byHand}${tail === "" ? "" : `\n${tail}`}`,
    { details: { directory, command: shown } },
  );
}

function howToGet(pm: PackageManager): string {
  switch (pm) {
    case "npm":
      return "it comes with Node.js";
    case "pnpm":
    case "yarn":
      return `\`corepack enable\`, or \`npm install --global ${pm}\``;
    case "bun":
      return "see bun.sh, or `npm install --global bun`";
  }
}

function lastLines(text: string, count: number): string {
  return text.trimEnd().split(/\r?\n/).slice(-count).join("\n");
}

/** A path as it can be pasted into a POSIX shell. */
function quoteForShell(path: string): string {
  return /^[\w@%+=:,./-]+$/.test(path) ? path : `'${path.replaceAll("'", "'\\''")}'`;
}
