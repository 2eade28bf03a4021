import { existsSync, readdirSync, statSync } from "node:fs";
import { resolve } from "node:path";
import type { Readable, Writable } from "node:stream";
import { confirm, isCancel, password, select, text } from "@clack/prompts";
import { type Answers, DEFAULT_NAME } from "./answers.js";
import type { StorageChoice } from "./options.js";
import { type PackageManager, packageManagers } from "./package-managers.js";
import { checkAdminIdText, checkMongoUrl, checkProjectName, checkToken } from "./rules.js";

/** The person pressed Ctrl-C (or Escape) at a prompt. */
export class PromptCancelled extends Error {
  override name = "PromptCancelled";
  constructor() {
    super("Cancelled.");
  }
}

/** Where the prompts read and draw, and what they default to. */
export interface PromptContext {
  input: Readable;
  output: Writable;
  /** The folder the project is created in: a name whose folder is taken is refused live. */
  parent: string;
  /** Preselected package manager. */
  packageManager: PackageManager;
}

/**
 * Asks, in order, for every answer the flags did not give: name, token, storage (and the
 * MongoDB URL), first admin, package manager, install, git. Each answer is checked as it is
 * typed, with the same rules as the flags.
 *
 * @throws {PromptCancelled} when a prompt is cancelled.
 */
export async function askMissing(
  given: Partial<Answers>,
  context: PromptContext,
): Promise<Answers> {
  const io = { input: context.input, output: context.output };
  const answer = <T>(value: T): Exclude<T, symbol> => {
    if (isCancel(value)) throw new PromptCancelled();
    return value as Exclude<T, symbol>;
  };

  const name =
    given.name ??
    answer(
      await text({
        ...io,
        message: "Project name",
        placeholder: DEFAULT_NAME,
        defaultValue: DEFAULT_NAME,
        validate: (value) => {
          const chosen = value === undefined || value === "" ? DEFAULT_NAME : value;
          return checkProjectName(chosen) ?? checkFolderFree(resolve(context.parent, chosen));
        },
      }),
    );

  let token = given.token;
  if (!("token" in given)) {
    const typed = answer(
      await password({
        ...io,
        message:
          "Bot token from @BotFather (optional: press Enter to skip and set it in .env later)",
        validate: (value) => (value === undefined || value === "" ? undefined : checkToken(value)),
      }),
    );
    token = typed === "" ? undefined : typed;
  }

  let storage: StorageChoice | undefined = given.storage;
  if (storage === undefined) {
    const kind = answer(
      await select<"embedded" | "mongodb">({
        ...io,
        message: "Where should the bot keep its data?",
        options: [
          { value: "embedded", label: "Embedded (no database needed)", hint: "a file in .kamihi/" },
          { value: "mongodb", label: "MongoDB", hint: "for production and several instances" },
        ],
        initialValue: "embedded",
      }),
    );
    if (kind === "embedded") {
      storage = "embedded";
    } else {
      const url = answer(
        await text({
          ...io,
          message: "MongoDB URL (saved in .env, not in kamihi.yaml)",
          placeholder: "mongodb://localhost:27017",
          defaultValue: "mongodb://localhost:27017",
          validate: (value) =>
            value === undefined || value === "" ? undefined : checkMongoUrl(value),
        }),
      );
      storage = { mongodbUrl: url };
    }
  }

  let adminId = given.adminId;
  if (!("adminId" in given)) {
    const typed = answer(
      await text({
        ...io,
        message: "Your Telegram user id, to be the first admin (optional: @userinfobot tells it)",
        placeholder: "press Enter to skip",
        validate: (value) =>
          value === undefined || value.trim() === "" ? undefined : checkAdminIdText(value),
      }),
    );
    adminId = typed.trim() === "" ? undefined : Number(typed.trim());
  }

  const packageManager =
    given.packageManager ??
    answer(
      await select<PackageManager>({
        ...io,
        message: "Package manager",
        options: packageManagers.map((pm) => ({ value: pm, label: pm })),
        initialValue: context.packageManager,
      }),
    );

  const install =
    given.install ??
    answer(await confirm({ ...io, message: "Install dependencies?", initialValue: true }));
  const git =
    given.git ??
    answer(await confirm({ ...io, message: "Initialize a git repository?", initialValue: true }));

  return {
    name,
    ...(token === undefined ? {} : { token }),
    storage,
    ...(adminId === undefined ? {} : { adminId }),
    packageManager,
    install,
    git,
  };
}

/** The live check that the chosen folder can be used, so a taken name is refused at once. */
function checkFolderFree(target: string): string | undefined {
  if (!existsSync(target)) return undefined;
  if (!statSync(target).isDirectory())
    return `${target} exists and is not a folder: choose another name.`;
  if (readdirSync(target).length > 0) {
    return `The folder ${target} already exists and is not empty: choose another name.`;
  }
  return undefined;
}
