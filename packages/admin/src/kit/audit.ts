import type { Clock, Store, User } from "@kamihi/core";
import type { FastifyRequest } from "fastify";
import { fmt } from "./format.js";

/** One line of the audit log. */
export interface AuditEntry extends Record<string, unknown> {
  at: Date;
  /** The admin's Telegram id and name. */
  by: number;
  byName: string;
  /** What was done, e.g. `user.block`. */
  what: string;
  /** What it was done to, e.g. `123456789` or `staff`. */
  target: string;
  details?: string;
  /** The client's address (behind a trusted proxy, the address it forwarded). */
  ip?: string;
}

/** Writes a line of the audit log for the signed-in admin (or `by`, who is signing in). */
export type AuditWriter = (
  request: FastifyRequest,
  what: string,
  target: string,
  details?: string,
  by?: User,
) => Promise<void>;

/** The audit log's collection (`kamihi_audit`). */
export function auditCollection(store: Store) {
  return store.collection<AuditEntry>("audit");
}

/** The audit log, its index made; lines are timed by `clock`. */
export async function createAuditWriter(store: Store, clock: Clock): Promise<AuditWriter> {
  const log = auditCollection(store);
  await log.createIndex({ keys: { at: -1 } });
  return async (request, what, target, details, by = request.admin?.user) => {
    if (by === undefined) return;
    await log.insertOne({
      at: new Date(clock()),
      by: by.telegramId,
      byName: fmt.name(by),
      what,
      target,
      ...(details === undefined ? {} : { details }),
      ip: request.ip,
    });
  };
}
