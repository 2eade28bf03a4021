import type { TestContext } from "node:test";

/**
 * The URL of the real MongoDB-compatible server for this run (`KAMIHI_TEST_MONGODB_URL`).
 * Without it the calling test is skipped with a visible reason, unless
 * `KAMIHI_REQUIRE_MONGODB=1` says the run must exercise MongoDB: then the skip is a failure.
 */
export function mongoTestUrl(t: TestContext): string | undefined {
  const url = process.env.KAMIHI_TEST_MONGODB_URL;
  if (url !== undefined && url !== "") return url;
  const reason =
    "KAMIHI_TEST_MONGODB_URL is not set; start a server with `scripts/mongo-test-server start` and export its URL";
  if (process.env.KAMIHI_REQUIRE_MONGODB === "1") {
    throw new Error(`KAMIHI_REQUIRE_MONGODB=1 but ${reason}`);
  }
  t.skip(reason);
  return undefined;
}

/** A database name no other test run uses, so runs never see each other's documents. */
export function uniqueDbName(prefix: string): string {
  return `${prefix}_${process.pid}_${Date.now().toString(36)}`;
}
