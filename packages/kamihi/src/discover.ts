import { existsSync, readdirSync } from "node:fs";
import { join, relative } from "node:path";
import { pathToFileURL } from "node:url";
import { KamihiError } from "@kamihi/core";
import type { Registry } from "./actions.js";

let discoveries = 0;

const MODULE = /\.(ts|mts|js|mjs)$/;
const SKIP = /\.(d\.ts|test\.[cm]?[jt]s|spec\.[cm]?[jt]s)$/;

/** Every action module under `dir`, recursively, in a stable (sorted) order. */
export function findActionModules(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const found: string[] = [];
  const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
    a.name.localeCompare(b.name),
  );
  for (const entry of entries) {
    if (entry.name.startsWith(".") || entry.name === "node_modules") continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...findActionModules(path));
    else if (MODULE.test(entry.name) && !SKIP.test(entry.name)) found.push(path);
  }
  return found;
}

/**
 * Imports every action module so its `bot.action()` calls register. TypeScript runs without a
 * build step (through tsx); each module's actions remember the file they came from.
 */
export async function discoverActions(
  root: string,
  dir: string,
  registry: Registry,
): Promise<string[]> {
  const modules = findActionModules(dir);
  const { tsImport } = await import("tsx/esm/api");
  // A fresh module instance per discovery, so a second bot in the same process (tests) sees
  // its actions register again instead of getting the cached modules of the first.
  const generation = ++discoveries;
  for (const file of modules) {
    const shown = relative(root, file);
    registry.currentSource = shown;
    const url = `${pathToFileURL(file).href}?kamihi-discovery=${generation}`;
    try {
      if (/\.m?ts$/.test(file)) await tsImport(url, import.meta.url);
      else await import(url);
    } catch (error) {
      if (error instanceof KamihiError) throw error;
      throw new KamihiError(
        "KAMIHI_ACTION_LOAD_FAILED",
        `Could not load the action module ${shown}: ${(error as Error).message}`,
        { cause: error, details: { file: shown } },
      );
    } finally {
      registry.currentSource = undefined;
    }
  }
  return modules.map((file) => relative(root, file));
}
