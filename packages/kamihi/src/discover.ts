import { existsSync, readdirSync } from "node:fs";
import { join, relative } from "node:path";
import { pathToFileURL } from "node:url";
import { KamihiError, type StandardSchemaV1 } from "@kamihi/core";
import type { Registry } from "./actions.js";

let discoveries = 0;

const MODULE = /\.(ts|mts|js|mjs)$/;
const SKIP = /\.(d\.ts|test\.[cm]?[jt]s|spec\.[cm]?[jt]s)$/;

/** Every action module under `dir`, recursively, in a stable (sorted) order. */
export function findActionModules(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const found: string[] = [];
  // Code-point order: the same on every machine, whatever its locale.
  const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
  );
  for (const entry of entries) {
    if (entry.name.startsWith(".") || entry.name === "node_modules") continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...findActionModules(path));
    else if (MODULE.test(entry.name) && !SKIP.test(entry.name)) found.push(path);
  }
  return found;
}

/** Imports modules for one start; see {@link createLoader}. */
export type ModuleLoader = (file: string) => Promise<Record<string, unknown>>;

/**
 * One tsx namespace per start: every module of that start shares one instance of what they
 * import (a helper, a client), while a second bot in the same process (tests) gets fresh
 * modules whose actions register again. The loader stays registered, so actions can still
 * import TypeScript lazily at run time.
 */
export async function createLoader(): Promise<ModuleLoader> {
  const { register } = await import("tsx/esm/api");
  const loader = register({ namespace: `kamihi-discovery-${++discoveries}` });
  return (file) => loader.import(pathToFileURL(file).href, import.meta.url);
}

/**
 * Imports every action module so its `bot.action()` calls register. TypeScript runs without a
 * build step (through tsx); each module's actions remember the file they came from.
 */
export async function discoverActions(
  root: string,
  dir: string,
  registry: Registry,
  load: ModuleLoader,
): Promise<string[]> {
  const modules = findActionModules(dir);
  for (const file of modules) {
    const shown = relative(root, file);
    registry.currentSource = shown;
    try {
      await load(file);
    } catch (error) {
      throw loadFailed(error, shown);
    } finally {
      registry.currentSource = undefined;
    }
  }
  return modules.map((file) => relative(root, file));
}

/**
 * The project's user schema: the default export (or `schema` export) of `models/user.ts`
 * (or `.mts`, `.js`, `.mjs`), when the file exists.
 */
export async function loadUserModel(
  root: string,
  load: ModuleLoader,
): Promise<StandardSchemaV1<Record<string, unknown>, Record<string, unknown>> | undefined> {
  const file = ["ts", "mts", "js", "mjs"]
    .map((ext) => join(root, "models", `user.${ext}`))
    .find((path) => existsSync(path));
  if (file === undefined) return undefined;
  const shown = relative(root, file);
  let module: Record<string, unknown>;
  try {
    module = await load(file);
  } catch (error) {
    throw loadFailed(error, shown);
  }
  const schema = module.default ?? module.schema;
  if (schema === null || typeof schema !== "object" || !("~standard" in schema)) {
    throw new KamihiError(
      "KAMIHI_ACTION_LOAD_FAILED",
      `${shown} must export a schema of the user's custom fields as its default export, e.g. \`export default v.object({ plan: v.optional(v.picklist(["free", "pro"]), "free") })\` (valibot, zod and other Standard Schema libraries work).`,
      { details: { file: shown } },
    );
  }
  return schema as StandardSchemaV1<Record<string, unknown>, Record<string, unknown>>;
}

function loadFailed(error: unknown, shown: string): KamihiError {
  if (error instanceof KamihiError) return error;
  return new KamihiError(
    "KAMIHI_ACTION_LOAD_FAILED",
    `Could not load the module ${shown}: ${(error as Error).message}`,
    { cause: error, details: { file: shown } },
  );
}
