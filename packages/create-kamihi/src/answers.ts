import type { StorageChoice } from "./options.js";
import type { PackageManager } from "./package-managers.js";

/** What a project is created with: from the flags, the prompts, or the defaults. */
export interface Answers {
  name: string;
  token?: string;
  storage: StorageChoice;
  adminId?: number;
  packageManager: PackageManager;
  install: boolean;
  git: boolean;
}

/** The project name when none is given. */
export const DEFAULT_NAME = "my-kamihi-bot";
