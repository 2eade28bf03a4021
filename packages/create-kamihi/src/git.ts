import type { Progress } from "./options.js";
import { type CommandOutcome, runCommand } from "./run-command.js";

const COMMIT_MESSAGE = "Initial commit from create-kamihi";

/**
 * `git init` and a first commit of every file (`.gitignore` keeps `.env` out). Git is a
 * convenience: when it is missing, the folder is already inside a repository, or git has no
 * user to sign the commit with, this says so and carries on; it never fails the scaffold.
 */
export async function initGitRepository(directory: string, progress: Progress): Promise<void> {
  const git = (...args: string[]) => runCommand("git", args, { cwd: directory });

  const inside = await git("rev-parse", "--is-inside-work-tree");
  if (inside.kind === "not-started") {
    progress.step(
      "Skipped git: it is not installed. Run `git init` later if you want a repository.",
    );
    return;
  }
  if (inside.kind === "exited" && inside.code === 0 && inside.output.trim() === "true") {
    progress.step("Skipped git init: the folder is already inside a git repository.");
    return;
  }

  const init = await git("init", "--quiet");
  if (init.kind !== "exited" || init.code !== 0) {
    progress.step(`Skipped git: \`git init\` failed (${describe(init)}). Run it by hand later.`);
    return;
  }
  if (!(await hasIdentity(git))) {
    progress.step(
      'Initialized a git repository; skipped the first commit because git has no user.name or user.email. Set them (git config --global user.name "Your Name"; git config --global user.email you@example.com), then: git add -A && git commit -m "Initial commit"',
    );
    return;
  }
  const add = await git("add", "--all");
  const commit =
    add.kind === "exited" && add.code === 0
      ? await git("commit", "--quiet", "--message", COMMIT_MESSAGE)
      : add;
  if (commit.kind !== "exited" || commit.code !== 0) {
    progress.step(
      `Initialized a git repository; the first commit failed (${describe(commit)}). Commit by hand: git add -A && git commit -m "Initial commit"`,
    );
    return;
  }
  progress.step("Initialized a git repository with a first commit");
}

/** Whether git can name an author and committer without guessing from the host name. */
async function hasIdentity(git: (...args: string[]) => Promise<CommandOutcome>): Promise<boolean> {
  const configured = async (key: string, ...variables: string[]) => {
    if (variables.every((name) => (process.env[name] ?? "") !== "")) return true;
    const outcome = await git("config", "--get", key);
    return outcome.kind === "exited" && outcome.code === 0 && outcome.output.trim() !== "";
  };
  return (
    (await configured("user.name", "GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME")) &&
    (await configured("user.email", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL"))
  );
}

function describe(outcome: CommandOutcome): string {
  switch (outcome.kind) {
    case "not-started":
      return outcome.message;
    case "killed":
      return `stopped by ${outcome.signal}`;
    case "exited": {
      const lastLine = outcome.output.trim().split(/\r?\n/).pop() ?? "";
      return lastLine === "" ? `exit code ${outcome.code}` : lastLine;
    }
  }
}
