import { KamihiError, type UpdateContext } from "@kamihi/core";
import { Composer, type Context, type Middleware, type MiddlewareFn } from "telegraf";

/** Telegraf middleware run around Kamihi's handling of each update. */
export interface MiddlewareChain {
  /** Adds middleware at the end of the chain; refused while the transport receives. */
  use(...middleware: Middleware<Context>[]): void;
  /**
   * Runs the chain on the update's Telegraf context with `next` (Kamihi's handling) as its
   * last step: middleware that does not call its `next` stops the update there. Errors of
   * either side reach the caller.
   */
  around(context: UpdateContext<Context>, next: () => Promise<void>): Promise<void>;
}

/**
 * The transport's own middleware, as Telegraf composes it (`Composer.compose`). It is fixed
 * while updates flow: a middleware added in the middle would see some updates and not others.
 */
export function createMiddlewareChain(
  initial: readonly Middleware<Context>[],
  receiving: () => boolean,
): MiddlewareChain {
  const middlewares = [...initial];
  /** Composed on first use after a change. */
  let composed: MiddlewareFn<Context> | undefined;

  async function run(raw: Context, next: () => Promise<void>): Promise<void> {
    composed ??= Composer.compose(middlewares);
    await composed(raw, next);
  }

  return {
    use(...added) {
      if (receiving()) {
        throw new KamihiError(
          "KAMIHI_BOT_RUNNING",
          "Telegraf middleware can only be added before the transport starts; add it first, or stop the transport.",
        );
      }
      middlewares.push(...added);
      composed = undefined;
    },
    around(context, next) {
      // Without middleware Kamihi's handling runs as if there were no chain at all.
      if (middlewares.length === 0) return next();
      return run(context.raw, next);
    },
  };
}
