import {
  type Document,
  type FindOptions,
  KamihiError,
  type UpdateOptions,
  type UpdateResult,
} from "@kamihi/core";
import { update as mingoUpdate } from "mingo";
import {
  assertStorable,
  checkFilter,
  checkUpdate,
  withInsertFields,
  withUpdateFields,
} from "../common.js";
import { keyOf } from "./keys.js";
import { sortPage } from "./sort.js";
import type { Entry, Table } from "./table.js";
import { upsertDocument } from "./upsert.js";

/** Inserts a copy of `doc`, base fields filled in at `now`; returns the stored document. */
export function insertDocument(table: Table, doc: Document, now: Date): Document {
  assertStorable(table.name, doc);
  const stored = structuredClone(withInsertFields(doc, now));
  if (Array.isArray(stored._id)) {
    throw new KamihiError(
      "KAMIHI_DB_INVALID_QUERY",
      `_id cannot be an array (collection ${table.name}); use a string, a number or a sub-document`,
      { details: { collection: table.name } },
    );
  }
  return table.insert(stored).doc;
}

/** What an update did, and the first document it touched before and after. */
export interface UpdateOutcome {
  result: UpdateResult;
  before?: Document;
  after?: Document;
}

/**
 * Runs an update on the first matching document (`one`, in `sort` order) or on every one
 * (`many`), or inserts the upsert's document when nothing matches and `upsert` is set.
 */
export function updateDocuments(
  table: Table,
  kind: "one" | "many",
  filter: unknown,
  update: unknown,
  now: Date,
  opts: UpdateOptions & { sort?: FindOptions["sort"] } = {},
): UpdateOutcome {
  const base = checkFilter(table.name, filter);
  const upsert = opts.upsert === true;
  const change = withUpdateFields(base, checkUpdate(table.name, update), now, upsert);
  let targets: Entry[];
  if (kind === "many") {
    targets = table.select(base);
  } else if (opts.sort) {
    targets = sortPage(table.select(base), opts.sort, 0, 1);
  } else {
    targets = table.select(base, 1);
  }
  if (targets.length === 0) {
    if (!upsert) return { result: { matchedCount: 0, modifiedCount: 0, upsertedId: null } };
    const inserted = insertDocument(table, upsertDocument(base, change), now);
    return {
      result: { matchedCount: 0, modifiedCount: 0, upsertedId: String(inserted._id) },
      after: inserted,
    };
  }
  let before: Document | undefined;
  let after: Document | undefined;
  for (const entry of targets) {
    before ??= entry.doc;
    const next = applyUpdate(table, entry, change);
    after ??= next;
  }
  return {
    result: { matchedCount: targets.length, modifiedCount: targets.length, upsertedId: null },
    ...(before === undefined ? {} : { before }),
    ...(after === undefined ? {} : { after }),
  };
}

/** Applies an update to a copy, then swaps the copy in (the table checks uniqueness). */
function applyUpdate(table: Table, entry: Entry, change: Document): Document {
  const { $setOnInsert: _ignored, ...operators } = change;
  const next = structuredClone(entry.doc);
  mingoUpdate(next, operators, undefined, undefined, { cloneMode: "deep" });
  if (keyOf(next._id) !== entry.id) {
    throw new KamihiError(
      "KAMIHI_DB_INVALID_QUERY",
      `An update cannot change _id (collection ${table.name})`,
    );
  }
  table.replace(entry, next);
  return next;
}
