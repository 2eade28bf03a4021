import { dirname, join, resolve } from "node:path";
import type { TemplateSet } from "@kamihi/core";
import type { RegisteredAction } from "../actions.js";
import { type ActionContext, actionUser } from "../context.js";
import { StoreOutage, storeIsDown } from "../outage.js";
import type { Kit, Step } from "./turn.js";

/**
 * Runs the action's handler with its context, within `actions.timeoutSeconds`, then the rest of
 * the pipeline (the response). A failure anywhere in it is logged and counted, and the user
 * gets `responses.errorMessage`; with the store down the update waits for it instead.
 */
export function run(kit: Kit): Step {
  const { settings, store, users, stats } = kit;
  return async (turn, next) => {
    const { action, update, from, chat, user } = turn;
    if (action === undefined) return;
    const log = kit.log.child({
      action: action.name,
      userId: from.id,
      chatId: chat.id,
      updateId: update.update_id,
    });
    const templates = templatesFor(kit, action);
    const abort = new AbortController();
    const context: ActionContext<Record<string, unknown>> = {
      answers: turn.answers ?? {},
      user: actionUser(from, user ?? undefined),
      users,
      chat,
      args: turn.args,
      settings,
      store,
      log,
      template: (data = {}) => templates.render(`${action.name}.md`, data),
      templates,
      reply: (response) => kit.say(chat.id, response, action.name),
      update,
      tg: turn.raw as ActionContext["tg"],
      signal: abort.signal,
    };
    stats.ran(action.name);
    const limit = settings.actions.timeoutSeconds;
    try {
      turn.result = await withTimeLimit(
        Promise.resolve(action.handler(context)),
        limit * 1000,
        abort,
      );
      await next();
    } catch (error) {
      if (error instanceof ActionTimeout) {
        log.error(
          { timeoutSeconds: limit },
          `action ${action.name} did not finish within ${limit}s (actions.timeoutSeconds); its chat moves on`,
        );
      } else if (await storeIsDown(store, error)) {
        // Handled again once the store is back (the update waits for it).
        throw new StoreOutage(error);
      } else {
        log.error({ err: error }, `action ${action.name} failed`);
      }
      stats.failed(action.name, error);
      await kit.say(chat.id, settings.responses.errorMessage).catch((sendError: unknown) => {
        log.error({ err: sendError }, "the error message could not be sent");
      });
    }
  };
}

/** The templates of the action's folder (`actions/<name>/` unless discovery found it elsewhere). */
function templatesFor(kit: Kit, action: RegisteredAction): TemplateSet {
  const folder =
    action.source === undefined
      ? join(kit.root, "actions", action.name)
      : dirname(resolve(kit.root, action.source));
  return kit.templates.forAction(folder);
}

/** An action ran past `actions.timeoutSeconds`. */
class ActionTimeout extends Error {
  override name = "ActionTimeout";
}

/**
 * The action's result, or an {@link ActionTimeout} once `ms` have passed; then `abort` is
 * aborted so an action that watches `signal` can stop its work (JavaScript cannot stop it).
 */
function withTimeLimit<T>(work: Promise<T>, ms: number, abort: AbortController): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new ActionTimeout(`The action did not finish within ${ms / 1000}s.`);
      abort.abort(error);
      reject(error);
    }, ms);
    // A hung action must not keep a stopping process alive.
    timer.unref();
  });
  return Promise.race([work, limit]).finally(() => clearTimeout(timer));
}
