import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after } from "node:test";
import { isKamihiError, type KamihiValidationError } from "@kamihi/core";
import { type LoadSettingsOptions, loadSettings } from "../src/index.js";

const made: string[] = [];
after(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** A throwaway project root holding the given files. */
export function project(files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), "kamihi-config-"));
  made.push(dir);
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
  return dir;
}

/** A syntactically valid token that is not anybody's. */
export const TOKEN = "123456789:AAHfakeTokenForTestsOnly_0123456789";
export const OTHER_TOKEN = "987654321:BBHanotherFakeTokenForTests-987654";

/** Loads settings and returns the validation error it must throw. */
export async function loadError(options: LoadSettingsOptions): Promise<KamihiValidationError> {
  try {
    await loadSettings(options);
  } catch (error) {
    if (isKamihiError(error, "KAMIHI_CONFIG_INVALID")) return error as KamihiValidationError;
    throw error;
  }
  throw new Error("loadSettings did not throw");
}
