import type { PackageManager } from "./package-managers.js";

/** Where the bot keeps its data: the embedded store, or a MongoDB server. */
export type StorageChoice = "embedded" | { mongodbUrl: string };

/** What {@link scaffold} creates. */
export interface ScaffoldOptions {
  /** Folder and package name, e.g. `"my-bot"`: npm package-name rules, lower case, no path. */
  name: string;
  /** Where the project folder is created. Default: `process.cwd()`. The target is `join(directory, name)`. */
  directory?: string;
  /** Bot token from @BotFather. Written only to `.env` as `KAMIHI_TOKEN`, never to `kamihi.yaml`. */
  token?: string;
  /**
   * `"embedded"`: `db.url: memory://?file=.kamihi/data.json` in `kamihi.yaml`. A MongoDB URL
   * (`mongodb://` or `mongodb+srv://`) goes to `.env` as `KAMIHI_DB__URL`: it may hold a password.
   */
  storage: StorageChoice;
  /** The first admin's Telegram id: `users.admins: [id]` in `kamihi.yaml`. */
  adminId?: number;
  /** The package manager the project, its README and its Dockerfile are set up for. */
  packageManager: PackageManager;
  /** Run `<packageManager> install` in the new project. */
  install: boolean;
  /** `git init` and a first commit (the commit is skipped when git has no user configured). */
  git: boolean;
  /** Version range of the `kamihi` dependency. Default: `^` and this package's version. */
  kamihiVersion?: string;
  /** Extra package.json fields, merged in deeply (objects merge, anything else replaces). */
  packageJson?: Record<string, unknown>;
}

/** What {@link scaffold} created. */
export interface ScaffoldResult {
  /** The project's folder (absolute). */
  directory: string;
  /** Every file written, relative to `directory` with `/` separators, sorted. */
  files: string[];
}

/**
 * How {@link scaffold} reports what it does: a spinner on a terminal, plain lines otherwise.
 * `start` and `stop` bracket a long step (installing); `step` is a finished one.
 */
export interface Progress {
  step(message: string): void;
  start(message: string): void;
  stop(message: string, ok?: boolean): void;
}
