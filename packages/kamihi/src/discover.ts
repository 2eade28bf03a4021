import { existsSync, readdirSync, realpathSync } from "node:fs";
import { registerHooks } from "node:module";
import { join, relative } from "node:path";
import { pathToFileURL } from "node:url";
import { KamihiError, type StandardSchemaV1 } from "@kamihi/core";
import type { Registry } from "./actions.js";

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
 * Imports one module of the project for the current start. `mayRetry` says whether a module
 * that failed before running any code (TypeScript that needs more than type stripping) may be
 * imported again another way; see {@link createLoader}.
 */
export type ModuleLoader = ((
  file: string,
  mayRetry?: () => boolean,
) => Promise<Record<string, unknown>>) & {
  /** The project folder whose modules this loader imports afresh. */
  within(root: string): void;
};

/**
 * The query that marks the project's modules of one start (`?kamihi-load=3`): Node keeps one
 * instance per URL, so each start gets fresh ones and a restart in `kamihi dev` sees the edited
 * code, while every module of one start shares one instance of what they import.
 */
const GENERATION = "kamihi-load";
const GENERATION_QUERY = /[?&]kamihi-load=(\d+)/;

/** Shared by every copy of this package in the process: one hook, generations never reused. */
interface LoaderState {
  generations: number;
  /** Each start's project folder, as a `file:` URL ending in `/`. */
  projects: Map<string, string>;
  hooked: boolean;
}
const STATE = Symbol.for("kamihi.module-loader");
const shared = globalThis as typeof globalThis & { [STATE]?: LoaderState };
shared[STATE] ??= { generations: 0, projects: new Map(), hooked: false };
const state: LoaderState = shared[STATE];

/**
 * Resolves the imports of a start's modules: the project's own files (outside `node_modules`)
 * carry the start's mark, and `./helper.js` finds `helper.ts` as TypeScript's NodeNext
 * resolution has it written. Packages (Kamihi itself among them) load once per process.
 */
function hookProjectModules(): void {
  if (state.hooked) return;
  state.hooked = true;
  registerHooks({
    resolve(specifier, context, nextResolve) {
      const parent = context.parentURL;
      const generation =
        parent?.includes(GENERATION) === true ? GENERATION_QUERY.exec(parent)?.[1] : undefined;
      if (generation === undefined) return nextResolve(specifier, context);
      let resolved: ReturnType<typeof nextResolve>;
      try {
        resolved = nextResolve(specifier, context);
      } catch (error) {
        const typescript = /^\.\.?\/.*\.[cm]?js$/.test(specifier)
          ? specifier.replace(/js$/, "ts")
          : undefined;
        if (
          typescript === undefined ||
          (error as { code?: string }).code !== "ERR_MODULE_NOT_FOUND"
        )
          throw error;
        try {
          resolved = nextResolve(typescript, context);
        } catch {
          throw error;
        }
      }
      const project = state.projects.get(generation);
      const { url } = resolved;
      if (
        project === undefined ||
        !url.startsWith(project) ||
        url.includes("/node_modules/") ||
        url.includes(GENERATION)
      ) {
        return resolved;
      }
      return {
        ...resolved,
        url: `${url}${url.includes("?") ? "&" : "?"}${GENERATION}=${generation}`,
      };
    },
  });
}

/**
 * Errors Node raises while it reads, parses and links a module graph, before running any of
 * it: TypeScript beyond type stripping (enums, namespaces, parameter properties, decorators), an
 * import of a type without `import type`, a file Node does not know how to load.
 */
const NOT_STARTED = new Set([
  "ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX",
  "ERR_INVALID_TYPESCRIPT_SYNTAX",
  "ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING",
  "ERR_MODULE_NOT_FOUND",
  "ERR_UNKNOWN_FILE_EXTENSION",
  "ERR_UNSUPPORTED_DIR_IMPORT",
]);

function failedBeforeRunning(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string") return NOT_STARTED.has(code);
  // A SyntaxError from parsing or linking is raised by Node itself (its innermost frame is
  // Node's); one thrown by the module's code (JSON.parse) is not.
  const innermost = error.stack?.split("\n").find((line) => line.trimStart().startsWith("at "));
  return error instanceof SyntaxError && innermost?.includes("node:internal/") === true;
}

/**
 * The loader of one start. TypeScript runs without a build step: through Node's own type
 * stripping (cheap, and cached by Node's compile cache) when the code only has erasable
 * syntax, else through tsx, which also knows tsconfig `paths` and the rest of TypeScript.
 * The hooks stay registered, so actions can still import TypeScript lazily at run time.
 */
export async function createLoader(): Promise<ModuleLoader> {
  const generation = String(++state.generations);
  const native = process.features.typescript !== false;
  if (native) hookProjectModules();
  let root: string | undefined;
  let tsx: ((file: string) => Promise<Record<string, unknown>>) | undefined;
  const throughTsx = async (file: string) => {
    if (tsx === undefined) {
      const { register } = await import("tsx/esm/api");
      // The project's own compiler options (or none), wherever the command runs from.
      const tsconfig = root === undefined ? undefined : join(root, "tsconfig.json");
      // Its own namespace: a second import of the same file still runs this start's copy.
      const api = register({
        namespace: `kamihi-discovery-${generation}`,
        tsconfig: tsconfig !== undefined && existsSync(tsconfig) ? tsconfig : false,
      });
      tsx = (path) => api.import(pathToFileURL(path).href, import.meta.url);
    }
    return tsx(file);
  };
  const load = async (file: string, mayRetry: () => boolean = () => true) => {
    if (!native && /\.[cm]?ts$/.test(file)) return throughTsx(file);
    try {
      return (await import(`${pathToFileURL(file).href}?${GENERATION}=${generation}`)) as Record<
        string,
        unknown
      >;
    } catch (error) {
      if (!failedBeforeRunning(error) || !mayRetry()) throw error;
      return throughTsx(file);
    }
  };
  return Object.assign(load, {
    within(folder: string) {
      root = folder;
      // Node resolves modules to their real paths: a project reached through a link is matched.
      const href = pathToFileURL(existsSync(folder) ? realpathSync(folder) : folder).href;
      state.projects.set(generation, href.endsWith("/") ? href : `${href}/`);
    },
  });
}

/**
 * Imports every action module so its `bot.action()` calls register, one after another in
 * the order of {@link findActionModules}; each module's actions remember the file they came
 * from.
 */
export async function discoverActions(
  root: string,
  dir: string,
  registry: Registry,
  load: ModuleLoader,
): Promise<string[]> {
  load.within(root);
  const modules = findActionModules(dir);
  for (const file of modules) {
    const shown = relative(root, file);
    registry.currentSource = shown;
    // Imported again another way only when nothing of it ran: no action registered twice.
    const before = registry.list().length;
    try {
      await load(file, () => registry.list().length === before);
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
  load.within(root);
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
