import { type Document, type IndexSpec, KamihiError } from "@kamihi/core";
import { Query } from "mingo";
import { duplicateKeyError, indexName, type TtlRule, ttlRuleOf } from "../common.js";
import { ExpiryQueue, expiryOf } from "./expiry.js";
import {
  canonicalIndex,
  isLookupValue,
  keyOf,
  lookupKeys,
  type UniqueKey,
  uniqueKeys,
} from "./keys.js";
import { type Equality, equalities } from "./plan.js";

/**
 * A stored document. The entry stays the same while its document is replaced by updates, so
 * indexes point at entries; a stored document itself is never changed in place (an update
 * makes a new one), so a reference to it is a snapshot.
 */
export interface Entry {
  doc: Document;
  /** The key of `doc._id`. */
  readonly id: string;
  /** The position in the collection's natural order (insertion order). */
  readonly seq: number;
}

/** What a table tells the file it is kept in. */
export interface TableEvents {
  /** A document was inserted or replaced. */
  put(table: Table, entry: Entry): void;
  /** A document was deleted (`entry.doc` is the deleted document). */
  delete(table: Table, entry: Entry): void;
  /** The index definitions changed. */
  indexes(table: Table): void;
}

type Bucket = Entry | Set<Entry>;

interface Index {
  spec: IndexSpec;
  name: string;
  canonical: string;
  /** The first field: the index answers equalities on it. */
  path: string | undefined;
  /** Entries by the keys of `path` (see {@link lookupKeys}). */
  lookup: Map<string, Bucket>;
  /** Unique indexes: the entry holding each key. */
  holders: Map<string, Entry> | undefined;
}

/** A lookup answering for more than this share of a collection is no faster than a scan. */
const SCAN_SHARE = 0.5;

/**
 * One collection of the embedded store: its documents in natural order, by `_id`, and by
 * every index (a map from key to entries, so an equality on an indexed field costs the
 * documents holding that key, not the collection), and its TTL deadlines.
 */
export class Table {
  readonly name: string;
  readonly #events: TableEvents;
  readonly #entries = new Map<string, Entry>();
  #indexes: Index[] = [];
  #rules: TtlRule[] = [];
  readonly #expiry = new ExpiryQueue<Entry>();
  #seq = 0;

  constructor(name: string, events: TableEvents) {
    this.name = name;
    this.#events = events;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The index definitions, in creation order. */
  specs(): IndexSpec[] {
    return this.#indexes.map((index) => index.spec);
  }

  /** Every document, in natural order (the documents themselves, never to be changed). */
  documents(): Document[] {
    return Array.from(this.#entries.values(), (entry) => entry.doc);
  }

  /** Fills an empty table from its file, trusting it (no uniqueness checks, no events). */
  load(docs: Iterable<Document>, specs: readonly IndexSpec[]): void {
    for (const doc of docs) {
      const entry: Entry = { doc, id: keyOf(doc._id), seq: this.#seq++ };
      this.#entries.set(entry.id, entry);
    }
    for (const spec of specs) this.#indexes.push(this.#build(spec, false));
    this.#rules = ttlRules(this.#indexes);
    this.#rebuildExpiry();
  }

  /** Creates an index unless an identical one exists; a unique index must hold already. */
  ensureIndex(spec: IndexSpec): string {
    const name = indexName(spec);
    const existing = this.#indexes.find((index) => index.name === name);
    if (existing !== undefined) {
      if (existing.canonical !== canonicalIndex({ ...spec, name })) {
        throw new KamihiError(
          "KAMIHI_DB_INVALID_QUERY",
          `An index named ${name} with other options already exists on ${this.name}; give the new index another name.`,
        );
      }
      return name;
    }
    this.#indexes.push(this.#build({ ...spec, name }, true));
    this.#rules = ttlRules(this.#indexes);
    this.#rebuildExpiry();
    this.#events.indexes(this);
    return name;
  }

  /** Adds a document (a copy the table now owns); rejects a duplicate `_id` or unique key. */
  insert(doc: Document): Entry {
    const keys = this.#checkUnique(doc, undefined);
    const id = keyOf(doc._id);
    if (this.#entries.has(id)) throw duplicateKeyError(this.name, { _id: doc._id }, "_id_");
    const entry: Entry = { doc, id, seq: this.#seq++ };
    this.#entries.set(id, entry);
    for (const [at, index] of this.#indexes.entries()) {
      if (index.path !== undefined) {
        for (const key of lookupKeys(doc, index.path)) file(index.lookup, key, entry);
      }
      if (index.holders !== undefined) {
        for (const key of keys[at] ?? []) index.holders.set(key.text, entry);
      }
    }
    this.#queueExpiry(entry);
    this.#events.put(this, entry);
    return entry;
  }

  /** Puts `next` in the place of `entry`'s document, keeping every index in step. */
  replace(entry: Entry, next: Document): void {
    const keys = this.#checkUnique(next, entry);
    const previous = entry.doc;
    entry.doc = next;
    for (const [at, index] of this.#indexes.entries()) {
      if (index.path !== undefined) {
        const before = lookupKeys(previous, index.path);
        const after = lookupKeys(next, index.path);
        for (const key of before) if (!after.has(key)) unfile(index.lookup, key, entry);

        for (const key of after) if (!before.has(key)) file(index.lookup, key, entry);
      }
      if (index.holders !== undefined) {
        for (const key of uniqueKeys(index.spec, previous)) {
          if (index.holders.get(key.text) === entry) index.holders.delete(key.text);
        }
        for (const key of keys[at] ?? []) index.holders.set(key.text, entry);
      }
    }
    this.#queueExpiry(entry);
    this.#events.put(this, entry);
  }

  remove(entry: Entry): void {
    if (this.#entries.get(entry.id) !== entry) return;
    this.#entries.delete(entry.id);
    for (const index of this.#indexes) {
      if (index.path !== undefined) {
        for (const key of lookupKeys(entry.doc, index.path)) unfile(index.lookup, key, entry);
      }
      if (index.holders !== undefined) {
        for (const key of uniqueKeys(index.spec, entry.doc)) {
          if (index.holders.get(key.text) === entry) index.holders.delete(key.text);
        }
      }
    }
    this.#events.delete(this, entry);
  }

  /** Deletes the documents past their TTL at `now` (ms); how many. */
  purge(now: number): number {
    if (this.#rules.length === 0) return 0;
    let removed = 0;
    for (let due = this.#expiry.peekDue(now); due !== undefined; due = this.#expiry.peekDue(now)) {
      this.#expiry.pop();
      const entry = due.holder;
      if (this.#entries.get(entry.id) === entry && entry.doc === due.doc) {
        this.remove(entry);
        removed++;
      }
    }
    return removed;
  }

  /**
   * The entries whose documents match `filter`, in natural order, at most `limit` of them.
   * An equality on `_id` or on the first field of an index narrows the documents tested to
   * those filed under its key; the whole filter then decides, so the answer is exactly what
   * testing every document would give.
   */
  select(filter: Document, limit = Number.POSITIVE_INFINITY): Entry[] {
    const found: Entry[] = [];
    if (limit <= 0) return found;
    const fields = Object.keys(filter);
    const candidates = fields.length === 0 ? undefined : this.#candidates(filter);
    if (candidates?.length === 0) return found;
    // `{ _id: value }` (or `$eq`, `$in`) alone: the primary key found exactly the matches, so
    // the query engine (whose set-up costs more than the lookup) is not needed.
    const query =
      fields.length === 0 || (candidates !== undefined && isPrimaryKeyLookup(filter, fields))
        ? undefined
        : new Query(filter);
    for (const entry of candidates ?? this.#entries.values()) {
      if (query !== undefined && !query.test(entry.doc)) continue;
      found.push(entry);
      if (found.length >= limit) break;
    }
    return found;
  }

  /** The smallest set of entries an index lookup gives for `filter`, in natural order. */
  #candidates(filter: Document): Entry[] | undefined {
    let best: { index: Index | undefined; keys: string[]; size: number } | undefined;
    for (const equality of equalities(filter)) {
      const index = this.#indexFor(equality);
      if (index === null) continue;
      const size = this.#count(index, equality.keys);
      if (best === undefined || size < best.size) best = { index, keys: equality.keys, size };
      if (size === 0) break;
    }
    if (best === undefined || best.size > this.#entries.size * SCAN_SHARE) return undefined;
    const found = new Set<Entry>();
    for (const key of best.keys) {
      if (best.index === undefined) {
        const entry = this.#entries.get(key);
        if (entry !== undefined) found.add(entry);
        continue;
      }
      const bucket = best.index.lookup.get(key);
      if (bucket instanceof Set) for (const entry of bucket) found.add(entry);
      else if (bucket !== undefined) found.add(bucket);
    }
    const entries = [...found];
    if (entries.length > 1) entries.sort((a, b) => a.seq - b.seq);
    return entries;
  }

  /** The index answering an equality: `undefined` for `_id`, `null` for none. */
  #indexFor(equality: Equality): Index | undefined | null {
    if (equality.path === "_id") return undefined;
    return this.#indexes.find((index) => index.path === equality.path) ?? null;
  }

  #count(index: Index | undefined, keys: readonly string[]): number {
    let size = 0;
    for (const key of keys) {
      if (index === undefined) {
        if (this.#entries.has(key)) size++;
        continue;
      }
      const bucket = index.lookup.get(key);
      size += bucket === undefined ? 0 : bucket instanceof Set ? bucket.size : 1;
    }
    return size;
  }

  /** The keys `doc` would hold in each unique index; throws if another entry holds one. */
  #checkUnique(doc: Document, self: Entry | undefined): (UniqueKey[] | undefined)[] {
    return this.#indexes.map((index) => {
      if (index.holders === undefined) return undefined;
      const keys = uniqueKeys(index.spec, doc);
      for (const { key, text } of keys) {
        const holder = index.holders.get(text);
        if (holder !== undefined && holder !== self) {
          throw duplicateKeyError(this.name, key, index.name);
        }
      }
      return keys;
    });
  }

  #build(spec: IndexSpec, check: boolean): Index {
    const name = indexName(spec);
    const path = Object.keys(spec.keys)[0];
    const index: Index = {
      spec,
      name,
      canonical: canonicalIndex(spec),
      path,
      lookup: new Map(),
      holders: spec.unique === true ? new Map() : undefined,
    };
    for (const entry of this.#entries.values()) {
      if (index.holders !== undefined) {
        for (const { key, text } of uniqueKeys(spec, entry.doc)) {
          const holder = index.holders.get(text);
          if (check && holder !== undefined && holder !== entry) {
            throw duplicateKeyError(this.name, key, name);
          }
          index.holders.set(text, entry);
        }
      }
      if (path !== undefined) {
        for (const key of lookupKeys(entry.doc, path)) file(index.lookup, key, entry);
      }
    }
    return index;
  }

  #queueExpiry(entry: Entry): void {
    if (this.#rules.length === 0) return;
    const at = expiryOf(this.#rules, entry.doc);
    if (at !== undefined) this.#expiry.push({ at, holder: entry, doc: entry.doc });
    // Replaced documents leave their old deadlines behind: start afresh before they pile up.
    if (this.#expiry.size > 2 * this.#entries.size + 1024) this.#rebuildExpiry();
  }

  #rebuildExpiry(): void {
    this.#expiry.clear();
    if (this.#rules.length === 0) return;
    for (const entry of this.#entries.values()) {
      const at = expiryOf(this.#rules, entry.doc);
      if (at !== undefined) this.#expiry.push({ at, holder: entry, doc: entry.doc });
    }
  }
}

function ttlRules(indexes: readonly Index[]): TtlRule[] {
  return indexes.flatMap((index) => {
    const rule = ttlRuleOf(index.spec);
    return rule === undefined ? [] : [rule];
  });
}

function file(lookup: Map<string, Bucket>, key: string, entry: Entry): void {
  const bucket = lookup.get(key);
  if (bucket === undefined) lookup.set(key, entry);
  else if (bucket instanceof Set) bucket.add(entry);
  else if (bucket !== entry) lookup.set(key, new Set([bucket, entry]));
}

function unfile(lookup: Map<string, Bucket>, key: string, entry: Entry): void {
  const bucket = lookup.get(key);
  if (bucket === entry) {
    lookup.delete(key);
  } else if (bucket instanceof Set) {
    bucket.delete(entry);
    if (bucket.size === 1) lookup.set(key, bucket.values().next().value as Entry);
  }
}

/**
 * Whether `filter` is `{ _id: value }`, `{ _id: { $eq: value } }` or `{ _id: { $in: [...] } }`
 * and nothing else, for values the primary key answers exactly.
 */
function isPrimaryKeyLookup(filter: Document, fields: readonly string[]): boolean {
  if (fields.length !== 1 || fields[0] !== "_id") return false;
  const condition = filter._id;
  if (isLookupValue(condition)) return true;
  if (condition === null || typeof condition !== "object" || Array.isArray(condition)) return false;
  const operators = Object.keys(condition);
  if (operators.length !== 1) return false;
  const operand = (condition as Document)[operators[0] as string];
  if (operators[0] === "$eq") return isLookupValue(operand);
  return operators[0] === "$in" && Array.isArray(operand) && operand.every(isLookupValue);
}
