import type { FastifyPluginAsync } from "fastify";
import * as v from "valibot";
import { type AuditEntry, auditCollection } from "../kit/audit.js";
import { fmt } from "../kit/format.js";
import { formFields, parseForm, refuseForm } from "../kit/forms.js";
import type { PageOptions } from "../kit/kit.js";

const PAGE_SIZE = 20;

/**
 * The page cursor: the last entry's time (ms) and id. Entries of one millisecond are told
 * apart by their id, so none is skipped or shown twice at a page boundary.
 */
const CURSOR = /^(\d{1,15})_([A-Za-z0-9_-]{1,64})$/;

const ListQuery = v.object({
  before: v.optional(v.pipe(v.string(), v.regex(CURSOR, "This page link is broken."))),
});

/** How each line reads, by its `what`. */
const VERBS: Record<string, string> = {
  "session.open": "signed in",
  "user.create": "added the user",
  "user.update": "edited the user",
  "user.block": "blocked the user",
  "user.unblock": "unblocked the user",
  "user.promote": "made admin",
  "user.demote": "removed admin rights of",
  "user.delete": "deleted the user",
  "role.create": "created the role",
  "role.delete": "deleted the role",
  "role.assign": "added a member to the role",
  "role.unassign": "removed a member from the role",
  "permission.grant": "granted the action",
  "permission.revoke": "revoked the action",
  "request.approve": "approved the request of",
  "request.deny": "denied the request of",
};

/** `/audit`: who changed what in the admin, newest first, 20 per page. */
export const auditPages: FastifyPluginAsync<PageOptions> = async (app, { kit }) => {
  const log = auditCollection(kit.store);

  app.get("/audit", async (request, reply) => {
    const fields = formFields(request.query);
    const query = fields === undefined ? undefined : parseForm(ListQuery, fields);
    if (query === undefined || !query.ok) return refuseForm(kit, request, reply);
    const cursor = query.value.before === undefined ? null : CURSOR.exec(query.value.before);
    const at = cursor === null ? undefined : new Date(Number(cursor[1]));
    const id = cursor?.[2];
    const docs = await log.find(
      at === undefined || id === undefined
        ? {}
        : { $or: [{ at: { $lt: at } }, { at: { $eq: at }, _id: { $lt: id } }] },
      { sort: { at: -1, _id: -1 }, limit: PAGE_SIZE + 1 },
    );
    const entries = docs.slice(0, PAGE_SIZE).map((entry) => ({
      ...entry,
      verb: VERBS[entry.what] ?? entry.what,
      link: linkOf(entry),
    }));
    const last = entries.at(-1);
    return kit.render(request, reply, "audit.eta", "Audit log", {
      fmt,
      entries,
      nextLink:
        docs.length > PAGE_SIZE && last !== undefined
          ? `/audit?before=${last.at.getTime()}_${encodeURIComponent(last._id)}`
          : undefined,
      firstLink: cursor === null ? undefined : "/audit",
    });
  });
};

/** Where the target of a line is shown, if it still has a page. */
function linkOf(entry: AuditEntry): string | undefined {
  const area = entry.what.split(".")[0];
  if ((area === "user" || area === "request" || area === "session") && /^\d+$/.test(entry.target)) {
    return entry.what === "user.delete" ? undefined : `/users/${entry.target}`;
  }
  if (area === "role" && entry.what !== "role.delete") return `/roles/${fmt.segment(entry.target)}`;
  if (area === "permission") return `/permissions#action-${fmt.segment(entry.target)}`;
  return undefined;
}
