import type { Command } from "commander";
import type { AccessCommandsContext } from "./access/context.js";
import { registerPermissionCommands } from "./access/permissions.js";
import { registerRoleCommands } from "./access/roles.js";
import { registerUserCommands } from "./access/users.js";

export { telegramId } from "./access/arguments.js";
export type { AccessCommandsContext, AccessProject } from "./access/context.js";

/** Registers `user`, `role` and `permission` with their subcommands on `program`. */
export function registerAccessCommands(program: Command, context: AccessCommandsContext): void {
  registerUserCommands(program, context);
  registerRoleCommands(program, context);
  registerPermissionCommands(program, context);
}
