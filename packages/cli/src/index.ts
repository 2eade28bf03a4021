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
export { DEFAULT_PLAYGROUND_PORT, registerProjectCommands } from "./project.js";
export type {
  DoctorCheck,
  ProjectCommandsContext,
  ProjectHost,
  RunInfo,
  RunningBot,
  RunningPlayground,
} from "./project.js";
export { watchProject } from "./watch.js";
export { printable, table } from "./output.js";
export type { Output } from "./output.js";
