import type { ActionRegistry, Logger, Store, User, UserService } from "@kamihi/core";
import type { FastifyRequest } from "fastify";
import type { AdminOptions } from "../options.js";
import type { AuditWriter } from "./audit.js";
import type { Renderer } from "./render.js";

/**
 * What every route plugin is handed (its one option, `kit`): the ports, the options, and how
 * pages answer, write the audit log and end sessions. Built once by `createAdmin`.
 */
export interface AdminKit extends Renderer {
  users: UserService;
  actions: ActionRegistry;
  store: Store;
  log: Logger;
  options: AdminOptions;
  /** Writes a line of the audit log for the signed-in admin (or `by`, who is signing in). */
  audit(
    request: FastifyRequest,
    what: string,
    target: string,
    details?: string,
    by?: User,
  ): Promise<void>;
  /**
   * Ends every admin session of `telegramId` unless `user` (as it is now; `null` when deleted)
   * is still an active admin. Every change of a user calls it, and so does the session check
   * of every request: rights taken away, whichever way, end the sessions one way.
   */
  endSessionsUnlessAdmin(telegramId: number, user: User | null): Promise<void>;
}

/** The options of every page plugin: the kit. */
export interface PageOptions {
  kit: AdminKit;
}

/** The kit from its parts. */
export function createKit(parts: {
  options: AdminOptions;
  log: Logger;
  renderer: Renderer;
  audit: AuditWriter;
  endSessionsUnlessAdmin: AdminKit["endSessionsUnlessAdmin"];
}): AdminKit {
  const { options, renderer } = parts;
  return {
    users: options.users,
    actions: options.actions,
    store: options.store,
    log: parts.log,
    options,
    render: renderer.render,
    redirect: renderer.redirect,
    audit: parts.audit,
    endSessionsUnlessAdmin: parts.endSessionsUnlessAdmin,
  };
}
