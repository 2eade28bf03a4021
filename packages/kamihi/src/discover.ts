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
  // One tsx namespace per discovery: every action module of this start shares one instance
  // of what they import (a helper, a client), while a second bot in the same process (tests)
  // gets fresh modules whose actions register again. The loader stays registered, so actions
  // can still import TypeScript lazily at run time.
  const { register } = await import("tsx/esm/api");
  const loader = register({ namespace: `kamihi-discovery-${++discoveries}` });
  for (const file of modules) {
    const shown = relative(root, file);
    registry.currentSource = shown;
    try {
      await loader.import(pathToFileURL(file).href, import.meta.url);
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
