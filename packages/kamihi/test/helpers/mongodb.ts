import type { TestContext } from "node:test";

const reason =
  "KAMIHI_TEST_MONGODB_URL is not set; start a server with `scripts/mongo-test-server start` and export its URL";

/**
 * The real MongoDB-compatible server of this run (`KAMIHI_TEST_MONGODB_URL`), or the reason
 * to skip. With `KAMIHI_REQUIRE_MONGODB=1` a missing server is an error, never a skip.
 */
export function requiredMongoUrl(): { url?: string; skip?: string } {
  const url = process.env.KAMIHI_TEST_MONGODB_URL;
  if (url !== undefined && url !== "") return { url };
  if (process.env.KAMIHI_REQUIRE_MONGODB === "1") {
    throw new Error(`KAMIHI_REQUIRE_MONGODB=1 but ${reason}`);
  }
  return { skip: reason };
}

/** The server URL for one test, or `undefined` after skipping it with the reason. */
export function mongoTestUrl(t: TestContext): string | undefined {
  const { url, skip } = requiredMongoUrl();
  if (skip !== undefined) t.skip(skip);
  return url;
}

/** A database name no other test run uses, so runs never see each other's documents. */
export function uniqueDbName(prefix: string): string {
  return `${prefix}_${process.pid}_${Date.now().toString(36)}`;
}
