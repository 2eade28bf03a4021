import { type ActionInfo, type ActionRegistry, checkCommandName, KamihiError } from "@kamihi/core";
import type { ActionContext } from "./context.js";
import { type Answers, describeQuestions, type Questions } from "./questions.js";
import type { ActionResult } from "./responses.js";

export type { ActionResult } from "./responses.js";

/** A handler: one function that gets the context and returns the response. */
export type ActionHandler<A = Record<string, never>> = (
  context: ActionContext<A>,
) => ActionResult | Promise<ActionResult>;

/** Options of `bot.action()`. */
export interface ActionOptions<Q extends Questions = Questions> {
  /**
   * Asked one by one before the handler runs; the replies arrive checked and typed in
   * `answers`: `questions: { name: q.string("Your name?"), age: q.integer("Age?", { min: 0 }) }`.
   */
  questions?: Q;
  /** Commands (without `/`) that run the action; replaces the default (the function's name). */
  commands?: readonly string[];
  /** Shown in the command menu and in /help. */
  description?: string;
  /** The action's name; defaults to the function's name. */
  name?: string;
  /**
   * Anyone may run it, even users the bot does not know (a `/start` that explains the bot).
   * Other actions need admin rights or a permission.
   */
  public?: boolean;
}

/** A registered action: its info plus the handler. */
export interface RegisteredAction extends ActionInfo {
  handler: ActionHandler<Record<string, unknown>>;
  /** The questions asked before the handler runs, in order. */
  ask: Questions;
}

/** The answers type of a questions object (none: an empty object). */
export type AnswersOf<Q extends Questions> = Answers<Q>;

/** The actions of one bot, checked as they are registered and again before start. */
export class Registry implements ActionRegistry {
  private readonly actions: RegisteredAction[] = [];
  /** The module being imported by discovery: the source of what it registers. */
  currentSource: string | undefined;

  add(handler: ActionHandler<never>, options: ActionOptions = {}): RegisteredAction {
    const source = this.currentSource ?? callerFile();
    const name = options.name ?? handler.name;
    if (typeof handler !== "function") {
      throw new KamihiError(
        "KAMIHI_ACTION_NOT_A_FUNCTION",
        `bot.action() needs a function${source ? ` (in ${source})` : ""}: bot.action(async function start(ctx) { … })`,
      );
    }
    if (name === "" || name === "anonymous") {
      throw new KamihiError(
        "KAMIHI_ACTION_INVALID_COMMAND",
        `An action${source ? ` in ${source}` : ""} has no name: write a named function (async function start() { … }) or pass { name } or { commands }.`,
      );
    }
    const commands = [...(options.commands ?? [name])];
    for (const command of commands) {
      const problem = checkCommandName(command);
      if (problem !== null) {
        throw new KamihiError(
          "KAMIHI_ACTION_INVALID_COMMAND",
          `The action "${name}"${source ? ` in ${source}` : ""} has an invalid command: ${problem}.`,
          { details: { action: name, command, ...(source ? { source } : {}) } },
        );
      }
    }
    for (const command of commands) {
      const clash = this.byCommand(command) ?? (command === "help" ? HELP : undefined);
      if (clash !== undefined) {
        throw new KamihiError(
          "KAMIHI_ACTION_DUPLICATE_COMMAND",
          `The command /${command} is declared twice: by "${clash.name}"${clash.source ? ` in ${clash.source}` : ""} and by "${name}"${source ? ` in ${source}` : ""}. Rename one, or set commands: [...] on one of them.`,
          { details: { command, first: clash.source, second: source } },
        );
      }
    }
    const action: RegisteredAction = {
      name,
      commands,
      ...(options.description === undefined ? {} : { description: options.description }),
      ...(source === undefined ? {} : { source }),
      public: options.public === true,
      questions: describeQuestions(options.questions),
      ask: { ...(options.questions ?? {}) },
      handler: handler as ActionHandler<Record<string, unknown>>,
    };
    this.actions.push(action);
    return action;
  }

  /** A registry holding the same actions, to add more to without touching this one. */
  copy(): Registry {
    const copy = new Registry();
    copy.actions.push(...this.actions);
    return copy;
  }

  list(): readonly RegisteredAction[] {
    return this.actions;
  }

  get(name: string): RegisteredAction | undefined {
    return this.actions.find((a) => a.name === name);
  }

  byCommand(command: string): RegisteredAction | undefined {
    return this.actions.find((a) => a.commands.includes(command));
  }
}

/** The built-in /help, reserved so no action can take its command by accident. */
const HELP = { name: "help (built in)", source: "kamihi" } as const;

/** The file that called bot.action(), from the stack, when discovery did not say. */
function callerFile(): string | undefined {
  const stack = new Error().stack?.split("\n").slice(1) ?? [];
  for (const line of stack) {
    const match = /\((?:file:\/\/)?([^()]+?):\d+:\d+\)$|at (?:file:\/\/)?([^ ()]+?):\d+:\d+$/.exec(
      line.trim(),
    );
    const file = match?.[1] ?? match?.[2];
    if (file === undefined || file.startsWith("node:")) continue;
    if (/[/\\]packages[/\\]kamihi[/\\]|[/\\]node_modules[/\\]kamihi[/\\]/.test(file)) continue;
    return file;
  }
  return undefined;
}
