import { basename, relative, sep } from "node:path";

/** Folders whose changes never restart the bot. */
const IGNORED_DIRS = new Set(["node_modules", ".git", ".kamihi", "dist", "logs", "coverage"]);
/** What a restart is for: code, settings, the environment. Templates reload on their own. */
const RESTART_ON = /(\.(ts|mts|cts|js|mjs|cjs|json|ya?ml)|^\.env(\..+)?|^\.kamihirc.*)$/;

/**
 * Calls `onChange(path)` when a file that needs a restart changes under `root`: action and
 * model code, settings and `.env`. Templates (`.eta`), tests and data files do not.
 */
export async function watchProject(
  root: string,
  onChange: (path: string) => void,
): Promise<{ close(): Promise<void> }> {
  // Only `kamihi dev` watches: the other commands never load the watcher.
  const { watch } = await import("chokidar");
  const watcher = watch(root, {
    ignoreInitial: true,
    ignored: (path) => {
      const parts = relative(root, path).split(sep);
      return parts.some((part) => IGNORED_DIRS.has(part));
    },
    awaitWriteFinish: { stabilityThreshold: 50, pollInterval: 20 },
  });
  const fire = (path: string) => {
    const name = basename(path);
    if (!RESTART_ON.test(name) || /\.test\.[cm]?[jt]s$/.test(name)) return;
    onChange(path);
  };
  watcher.on("add", fire).on("change", fire).on("unlink", fire);
  await new Promise<void>((resolve, reject) => {
    watcher.once("ready", () => resolve());
    watcher.once("error", reject);
  });
  return { close: () => watcher.close() };
}
