/**
 * Scaffold a new Kamihi bot: `npm create kamihi` / `pnpm create kamihi`, or from code.
 *
 * ```ts
 * import { scaffold } from "create-kamihi";
 *
 * const { directory, files } = await scaffold({
 *   name: "my-bot",
 *   storage: "embedded",
 *   packageManager: "pnpm",
 *   install: true,
 *   git: true,
 * });
 * ```
 *
 * @packageDocumentation
 */

export { scaffold } from "./scaffold.js";
export type { Progress, ScaffoldOptions, ScaffoldResult, StorageChoice } from "./options.js";
export { runCreate, EXIT } from "./run-create.js";
export type { CreateIO } from "./run-create.js";
export { isKamihiError, KamihiError } from "@kamihi/core";
export type { KamihiErrorCode } from "@kamihi/core";
export { detectPackageManager, isPackageManager, packageManagers } from "./package-managers.js";
export type { PackageManager } from "./package-managers.js";
export { checkAdminId, checkMongoUrl, checkProjectName, checkToken } from "./rules.js";
export { createKamihiVersion } from "./version.js";
