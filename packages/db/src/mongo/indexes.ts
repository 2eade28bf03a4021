import type { Document, IndexSpec } from "@kamihi/core";
import type { Db } from "mongodb";
import { indexName, ttlRuleOf } from "../common.js";
import { isTtlUnsupported } from "./errors.js";
import type { TtlRules } from "./ttl.js";

/**
 * Creates the index `spec` on the collection `name` unless it exists, and returns its name.
 * A TTL index the server refuses (FerretDB 1.x) is created without its TTL, which `ttl` then
 * emulates.
 */
export async function ensureIndex(
  db: Db,
  name: string,
  spec: IndexSpec,
  ttl: TtlRules,
): Promise<string> {
  const raw = db.collection<Document>(name);
  const index = indexName(spec);
  const base = { name: index, ...(spec.unique ? { unique: true } : {}) };
  const rule = ttlRuleOf(spec);
  if (rule === undefined) {
    await raw.createIndex(spec.keys, base);
  } else {
    try {
      await raw.createIndex(spec.keys, { ...base, expireAfterSeconds: rule.seconds });
    } catch (error) {
      if (!isTtlUnsupported(error)) throw error;
      await raw.createIndex(spec.keys, base);
      ttl.emulate(name, rule);
    }
  }
  ttl.forget(name);
  return index;
}
