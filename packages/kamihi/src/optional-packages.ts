import { KamihiError } from "@kamihi/core";

/**
 * The packages some commands need and a bot's production install leaves out (optional peers
 * of `kamihi`), with what to tell a project that uses such a command without them.
 */
const OPTIONAL = {
  "@kamihi/testing": {
    what: "the Bot API emulator, test chats and the playground page",
    fix: "Add it as a development dependency: npm i -D @kamihi/testing (or pnpm add -D @kamihi/testing).",
  },
  "create-kamihi": {
    what: "the project scaffolder",
    fix: "Run it directly with the same flags: npm create kamihi@latest (or pnpm create kamihi), or install it: npm i -D create-kamihi.",
  },
} as const;

/**
 * Runs `work`; when it fails because the optional package `name` is not installed, the error
 * says that `user` needs it and how to install it (`KAMIHI_PACKAGE_MISSING`).
 */
export async function needing<T>(
  name: keyof typeof OPTIONAL,
  user: string,
  work: () => Promise<T>,
): Promise<T> {
  try {
    return await work();
  } catch (error) {
    // Only the package itself: a dependency missing inside it is another problem.
    const missing =
      (error as { code?: unknown }).code === "ERR_MODULE_NOT_FOUND" &&
      String((error as Error).message).includes(`'${name}'`);
    if (!missing) throw error;
    throw new KamihiError(
      "KAMIHI_PACKAGE_MISSING",
      `${user} needs ${name} (${OPTIONAL[name].what}), which is not installed. ${OPTIONAL[name].fix}`,
      { cause: error, details: { package: name } },
    );
  }
}
