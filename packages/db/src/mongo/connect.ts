import { type Clock, KamihiError, redactUrlCredentials, systemClock } from "@kamihi/core";
import type { Db, MongoClient, MongoClientOptions } from "mongodb";
import { driver } from "./driver.js";
import { scrubPassword } from "./redact.js";
import { type StartTimer, wallTimer, withTimeLimit } from "./time-limit.js";

/** Where the store connects, and how long start-up may wait. */
export interface ClientOptions {
  /** `mongodb://` or `mongodb+srv://` connection string. */
  url: string;
  dbName: string;
  /** The start-up time limit, also the driver's server-selection and connect timeouts. */
  connectTimeoutMs: number;
  /** Extra driver options (they win over the timeouts above). */
  clientOptions?: MongoClientOptions;
}

/**
 * A driver client for `options.url` and its database, not connected yet. A malformed
 * connection string fails here with `KAMIHI_CONFIG_INVALID`, its password hidden.
 */
export function openClient(options: ClientOptions): { client: MongoClient; db: Db } {
  let client: MongoClient;
  try {
    client = new (driver().MongoClient)(options.url, {
      appName: "kamihi",
      serverSelectionTimeoutMS: options.connectTimeoutMs,
      connectTimeoutMS: options.connectTimeoutMs,
      ...options.clientOptions,
    });
  } catch (error) {
    const shownUrl = redactUrlCredentials(options.url);
    throw new KamihiError(
      "KAMIHI_CONFIG_INVALID",
      `db.url ${shownUrl} is not a valid MongoDB connection string (${scrubPassword(options.url, (error as Error).message)}). Percent-encode special characters in the user name and password, e.g. @ as %40.`,
      { cause: error, details: { url: shownUrl } },
    );
  }
  return { client, db: client.db(options.dbName) };
}

/** What start-up learnt of the server. */
export interface ServerInfo {
  /** Whether the server is FerretDB; `undefined` when it was not asked. */
  ferretdb: boolean | undefined;
}

/** Options of {@link connectWithin}. */
export interface ConnectWithinOptions {
  /** The connection string, for the error message (its password is hidden). */
  url: string;
  connectTimeoutMs: number;
  /** Ask the server what it is (`buildInfo`): whether it is FerretDB. */
  detectServer: boolean;
  /** Starts the time limits. Default: `setTimeout`. */
  timer?: StartTimer;
  /** Times the wait reported in the error. Default: the system clock. */
  clock?: Clock;
}

/**
 * Connects `client` and pings `db`, each step within the start-up time limit, since a server
 * that accepts connections and never answers would hang the driver. Any failure closes the
 * client and raises `KAMIHI_DB_UNREACHABLE` (or `KAMIHI_DB_AUTH_FAILED` when the server answered
 * and refused the credentials), with the URL's password hidden and what to do.
 */
export async function connectWithin(
  client: MongoClient,
  db: Db,
  options: ConnectWithinOptions,
): Promise<ServerInfo> {
  const { connectTimeoutMs: ms } = options;
  const timer = options.timer ?? wallTimer;
  const clock = options.clock ?? systemClock;
  const started = clock();
  try {
    await withTimeLimit(client.connect(), ms + 1000, "connect", timer);
    await withTimeLimit(db.command({ ping: 1 }), ms, "ping", timer);
    if (!options.detectServer) return { ferretdb: undefined };
    const info = await withTimeLimit(db.admin().command({ buildInfo: 1 }), ms, "buildInfo", timer);
    return { ferretdb: info.ferretdbVersion !== undefined };
  } catch (error) {
    await client.close(true).catch(() => {});
    const shownUrl = redactUrlCredentials(options.url);
    const reason = scrubPassword(
      options.url,
      error instanceof Error ? error.message : String(error),
    );
    if (refusedCredentials(error)) {
      throw new KamihiError(
        "KAMIHI_DB_AUTH_FAILED",
        `MongoDB at ${shownUrl} refused the credentials in db.url (${reason}). Fix the user name and password (or authSource) in db.url (KAMIHI_DB__URL).`,
        { cause: error, details: { url: shownUrl } },
      );
    }
    throw new KamihiError(
      "KAMIHI_DB_UNREACHABLE",
      `Could not reach MongoDB at ${shownUrl} within ${Math.round(ms / 100) / 10}s (${reason}). Start MongoDB or check db.url (KAMIHI_DB__URL); for a quick start without MongoDB, set db.url to memory:// to use the embedded store.`,
      { cause: error, details: { url: shownUrl, waitedMs: clock() - started } },
    );
  }
}

/**
 * Whether the server answered and refused the credentials: MongoDB's `AuthenticationFailed`
 * (code 18), on the error or anywhere in its causes.
 */
export function refusedCredentials(error: unknown): boolean {
  for (let seen = error, depth = 0; seen instanceof Error && depth < 5; depth++) {
    const { code, codeName } = seen as { code?: unknown; codeName?: unknown };
    if (code === 18 || codeName === "AuthenticationFailed") return true;
    seen = seen.cause;
  }
  return false;
}
