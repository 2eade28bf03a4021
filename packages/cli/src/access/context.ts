import type { ActionRegistry, UserService } from "@kamihi/core";
import type { Command } from "commander";
import type { Output } from "../output.js";

/** What the user, role and permission commands work on; `kamihi` opens it from the project. */
export interface AccessProject {
  users: UserService;
  actions: ActionRegistry;
  /** Closes what opening the project opened (the store). */
  close(): Promise<void>;
}

/** How the commands reach the project and the terminal. */
export interface AccessCommandsContext {
  /** Opens the project in `root` (settings, actions, store) when a command needs it. */
  open: (root: string) => Promise<AccessProject>;
  stdout: Output;
}

/**
 * Runs `work` on the project in the program's `--root`, closing it afterwards whatever
 * happens. Opening waits until a command runs, so `--help` and usage errors need no project.
 */
export async function withProject(
  context: AccessCommandsContext,
  program: Command,
  work: (project: AccessProject) => Promise<void>,
): Promise<void> {
  const { root } = program.opts<{ root: string }>();
  const project = await context.open(root);
  try {
    await work(project);
  } finally {
    await project.close();
  }
}
