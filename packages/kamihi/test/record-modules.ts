/**
 * Preloaded into a `kamihi` process by the tests (`--import`): writes the URL of every module
 * the process loaded, one a line, to the file named by KAMIHI_TEST_MODULES when it exits.
 * Plain erasable TypeScript: the process runs it with Node's own type stripping.
 */
import { writeFileSync } from "node:fs";
import { registerHooks } from "node:module";

const loaded: string[] = [];
registerHooks({
  load(url, context, nextLoad) {
    loaded.push(url);
    return nextLoad(url, context);
  },
});
process.on("exit", () => {
  const file = process.env.KAMIHI_TEST_MODULES;
  if (file !== undefined) writeFileSync(file, `${loaded.join("\n")}\n`);
});
