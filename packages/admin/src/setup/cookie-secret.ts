import { KamihiError, literal, type Store } from "@kamihi/core";
import { randomSecret } from "../kit/secrets.js";

/** A cookie secret kept in the store, so every instance (and restart) signs alike. */
export async function sharedCookieSecret(store: Store): Promise<string> {
  const secrets = store.collection<{ name: string; value: string }>("secrets");
  await secrets.createIndex({ keys: { name: 1 }, unique: true });
  const doc = await secrets.findOneAndUpdate(
    { name: "admin-cookies" },
    { $setOnInsert: { value: randomSecret(32) } },
    { upsert: true },
  );
  const found = doc ?? (await secrets.findOne({ name: literal("admin-cookies") }));
  if (found === null)
    throw new KamihiError("KAMIHI_INTERNAL_BUG", "The admin cookie secret could not be kept.");
  return found.value;
}
