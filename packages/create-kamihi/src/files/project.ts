import type { PackageManager } from "../package-managers.js";

/** Everything the generated files depend on, already checked. */
export interface ProjectSpec {
  name: string;
  packageManager: PackageManager;
  /** Version range of the `kamihi` dependency. */
  kamihiVersion: string;
  token?: string;
  /** Set when the project uses MongoDB instead of the embedded store. */
  mongodbUrl?: string;
  adminId?: number;
  /** Extra package.json fields. */
  packageJson?: Record<string, unknown>;
}

/** One file of the generated project. */
export interface ProjectFile {
  /** Relative to the project folder, with `/` separators. */
  path: string;
  content: string;
  /** File mode on creation (`0o600` for secrets); default `0o644` less the umask. */
  mode?: number;
}

/** The embedded store's URL: data kept in a JSON file inside the project. */
export const EMBEDDED_DB_URL = "memory://?file=.kamihi/data.json";
