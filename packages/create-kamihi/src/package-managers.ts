/** The package managers a project can be created for, and how each is spelled on a command line. */

/** A package manager the generated project is set up for. */
export type PackageManager = "pnpm" | "npm" | "yarn" | "bun";

/** Every supported package manager, in the order prompts list them. */
export const packageManagers: readonly PackageManager[] = ["pnpm", "npm", "yarn", "bun"];

/** True when `value` names a supported package manager. */
export function isPackageManager(value: unknown): value is PackageManager {
  return typeof value === "string" && (packageManagers as readonly string[]).includes(value);
}

/**
 * The package manager that started this process, read from `npm_config_user_agent`
 * (`pnpm/9.12.0 npm/? node/v24.22.3 linux x64`), so `pnpm create kamihi` sets the project up
 * for pnpm. `npm` when the agent is unknown or missing.
 */
export function detectPackageManager(
  userAgent: string | undefined = process.env.npm_config_user_agent,
): PackageManager {
  const name = userAgent?.split("/", 1)[0]?.trim();
  return isPackageManager(name) ? name : "npm";
}

/** `pnpm run dev`, `npm run dev`…: runs a script of package.json. */
export function runScript(pm: PackageManager, script: string): string {
  return `${pm} run ${script}`;
}

/** `pnpm exec kamihi`, `npx kamihi`…: runs a command installed in the project. */
export function execCommand(pm: PackageManager, command: string): string {
  switch (pm) {
    case "npm":
      return `npx ${command}`;
    case "pnpm":
      return `pnpm exec ${command}`;
    case "yarn":
      return `yarn ${command}`;
    case "bun":
      return `bunx ${command}`;
  }
}

/** `pnpm test`…; `bun run test`, since `bun test` is Bun's own test runner, not the script. */
export function testCommand(pm: PackageManager): string {
  return pm === "bun" ? "bun run test" : `${pm} test`;
}

/** `pnpm install`…: installs the project's dependencies. */
export function installCommand(pm: PackageManager): { command: string; args: string[] } {
  return { command: pm, args: ["install"] };
}
