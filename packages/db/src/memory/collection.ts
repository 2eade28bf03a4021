import type {
  Collection,
  Document,
  FindOneAndUpdateOptions,
  FindOptions,
  IndexSpec,
  Insertable,
  Stored,
} from "@kamihi/core";
import { checkFilter } from "../common.js";
import type { RunMemoryOperation } from "./operation.js";
import { project } from "./project.js";
import { sortPage } from "./sort.js";
import type { Entry, Table } from "./table.js";
import { insertDocument, updateDocuments } from "./write.js";

/** What the collections of one embedded store share. */
export interface MemoryCollectionContext {
  run: RunMemoryOperation;
  /** The store's clock, for the base fields. */
  now: () => Date;
}

/** The matching documents, sorted, skipped and limited; the stored ones, not copies. */
export function matching(
  table: Table,
  filter: Document,
  opts: { sort?: FindOptions["sort"]; skip?: number; limit?: number } = {},
): Document[] {
  const skip = Math.max(0, opts.skip ?? 0);
  const limit = opts.limit ? Math.abs(opts.limit) : undefined;
  if (opts.sort) return sortPage(table.select(filter), opts.sort, skip, limit).map(docOf);
  const found = table.select(filter, limit === undefined ? undefined : skip + limit);
  return found.slice(skip).map(docOf);
}

const docOf = (entry: Entry) => entry.doc;
/** Documents leave the store as copies: a caller never aliases stored data. */
const out = <R>(doc: Document) => structuredClone(doc) as R;

/** The {@link Collection} `name` of an embedded store, over its table `fullName`. */
export function createMemoryCollection<T extends Document>(
  name: string,
  fullName: string,
  context: MemoryCollectionContext,
): Collection<T> {
  const { now } = context;
  const run = <R>(what: string, fn: (table: Table) => R) => context.run(fullName, what, fn);
  return {
    name,
    findOne: (filter, opts) =>
      run("findOne", (t) => {
        const query = checkFilter(fullName, filter);
        const [first] = project(
          matching(t, query, { ...(opts?.sort ? { sort: opts.sort } : {}), limit: 1 }),
          opts?.projection,
        );
        return first === undefined ? null : out<Stored<T>>(first);
      }),
    find: (filter, opts: FindOptions = {}) =>
      run("find", (t) => {
        const found = matching(t, checkFilter(fullName, filter), {
          ...(opts.sort ? { sort: opts.sort } : {}),
          ...(opts.skip ? { skip: opts.skip } : {}),
          ...(opts.limit ? { limit: opts.limit } : {}),
        });
        return project(found, opts.projection).map((doc) => out<Stored<T>>(doc));
      }),
    insertOne: (doc: Insertable<T>) =>
      run("insertOne", (t) => out<Stored<T>>(insertDocument(t, doc, now()))),
    insertMany: (docs: readonly Insertable<T>[]) =>
      run("insertMany", (t) => {
        // Like an ordered MongoDB insert: documents before a failing one stay inserted.
        const stored: Document[] = [];
        for (const doc of docs) stored.push(insertDocument(t, doc, now()));
        return stored.map((doc) => out<Stored<T>>(doc));
      }),
    updateOne: (filter, update, opts) =>
      run("updateOne", (t) => updateDocuments(t, "one", filter, update, now(), opts).result),
    updateMany: (filter, update, opts) =>
      run("updateMany", (t) => updateDocuments(t, "many", filter, update, now(), opts).result),
    findOneAndUpdate: (filter, update, opts: FindOneAndUpdateOptions = {}) =>
      run("findOneAndUpdate", (t) => {
        const { before, after } = updateDocuments(t, "one", filter, update, now(), opts);
        const doc = (opts.returnDocument ?? "after") === "after" ? after : before;
        return doc === undefined ? null : out<Stored<T>>(doc);
      }),
    deleteOne: (filter) =>
      run("deleteOne", (t) => {
        const [entry] = t.select(checkFilter(fullName, filter), 1);
        if (entry === undefined) return { deletedCount: 0 };
        t.remove(entry);
        return { deletedCount: 1 };
      }),
    deleteMany: (filter) =>
      run("deleteMany", (t) => {
        const doomed = t.select(checkFilter(fullName, filter));
        for (const entry of doomed) t.remove(entry);
        return { deletedCount: doomed.length };
      }),
    countDocuments: (filter) =>
      run("countDocuments", (t) => {
        const query = checkFilter(fullName, filter);
        return Object.keys(query).length === 0 ? t.size : t.select(query).length;
      }),
    createIndex: (spec: IndexSpec) => run("createIndex", (t) => t.ensureIndex(spec)),
  };
}
