/** What the registry knows of one question an action asks before it runs. */
export interface QuestionInfo {
  /** The key of the answer in the handler's `answers`. */
  name: string;
  /** `string`, `integer`, `choice`, `date`, … */
  type: string;
  prompt: string;
}

/** A registered action, as the CLI, the admin and `/help` see it. */
export interface ActionInfo {
  /** Unique name; defaults to the handler function's name. */
  name: string;
  /** Commands (without `/`) that run it; may be empty for job-only actions. */
  commands: readonly string[];
  description?: string;
  /** The module that declared it, for error messages that name both sides of a clash. */
  source?: string;
  /** The folder of its templates. */
  folder?: string;
  /** Anyone (even unknown users) may run it. */
  public: boolean;
  questions: readonly QuestionInfo[];
  /** Cron expression when the action runs on a schedule. */
  schedule?: string;
}

/** Read-only view of the registered actions. The default lives in `kamihi`. */
export interface ActionRegistry {
  list(): readonly ActionInfo[];
  get(name: string): ActionInfo | undefined;
  /** The action a command (without `/`) runs, if any. */
  byCommand(command: string): ActionInfo | undefined;
}
