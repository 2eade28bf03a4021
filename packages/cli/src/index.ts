/**
 * The commands of the `kamihi` command line, written against Kamihi's ports: the `kamihi`
 * package wires them to a project. Usable on their own with any `UserService`.
 *
 * @packageDocumentation
 */

export { createProgram, EXIT, runCli } from "./program.js";
export type { CliOptions } from "./program.js";
export { registerAccessCommands, telegramId } from "./access.js";
export type { AccessCommandsContext, AccessProject } from "./access.js";
export { registerProjectCommands } from "./project.js";
export type {
  DoctorCheck,
  ProjectCommandsContext,
  ProjectHost,
  RunInfo,
  RunningBot,
} from "./project.js";
export { watchProject } from "./watch.js";
export { printable, table } from "./output.js";
export type { Output } from "./output.js";
