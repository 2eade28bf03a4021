import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HERE } from "./kamihi-project.js";

/** The MongoDB-compatible server of a bench run. */
export interface MongoServer {
  url?: string;
  /** Why there is none (printed in the table's MongoDB rows). */
  skip?: string;
  stop(): Promise<void>;
}

const SCRIPT = join(HERE, "scripts", "mongo-test-server");

function script(command: string, runDir: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      "bash",
      [SCRIPT, command],
      { env: { ...process.env, KAMIHI_TEST_MONGODB_RUN_DIR: runDir }, timeout: 900_000 },
      (error, stdout, stderr) => {
        if (error !== null) {
          const why = stderr.trim().split("\n").at(-1) ?? error.message;
          reject(new Error(why));
        } else resolve(stdout.trim());
      },
    );
  });
}

/**
 * The server to run the MongoDB rows on: `--mongo <url>`, else KAMIHI_TEST_MONGODB_URL, else a
 * private FerretDB started with scripts/mongo-test-server (and stopped by `stop()`).
 * `--no-mongo` (given as `"none"`) skips the rows, saying so.
 */
export async function mongoServer(
  option: string | undefined,
  log: (line: string) => void,
): Promise<MongoServer> {
  const none = async () => {};
  if (option === "none") return { skip: "--no-mongo was given", stop: none };
  if (option !== undefined && option !== "") return { url: option, stop: none };
  const fromEnv = process.env.KAMIHI_TEST_MONGODB_URL;
  if (fromEnv !== undefined && fromEnv !== "") return { url: fromEnv, stop: none };
  const runDir = mkdtempSync(join(tmpdir(), "kamihi-bench-mongo-"));
  log("starting a private FerretDB (scripts/mongo-test-server) for the MongoDB rows…");
  try {
    const url = (await script("start", runDir)).split("\n").at(-1) ?? "";
    return {
      url,
      stop: async () => {
        await script("stop", runDir).catch(() => {});
        rmSync(runDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(runDir, { recursive: true, force: true });
    return {
      skip: `no MongoDB server: none given (--mongo, KAMIHI_TEST_MONGODB_URL) and scripts/mongo-test-server could not start one (${(error as Error).message})`,
      stop: none,
    };
  }
}
