import type { ActionRegistry, Clock, Logger, Store, UserService } from "@kamihi/core";
import type { FastifyInstance } from "fastify";

/** What the dashboard shows of the bot. */
export interface BotStatus {
  username?: string;
  running: boolean;
  /** `memory`, `mongodb`… */
  store: string;
}

/** How often an action ran, for the actions page. */
export interface ActionStat {
  action: string;
  runs: number;
  lastRunAt?: Date;
}

/** An error the bot logged, for the dashboard. */
export interface RecentError {
  at: Date;
  action?: string;
  message: string;
}

/** Options of `createAdmin`. */
export interface AdminOptions {
  users: UserService;
  actions: ActionRegistry;
  /** Sessions, login links and the audit log live here. */
  store: Store;
  logger?: Logger;
  /** Default `127.0.0.1`: only this machine. */
  host?: string;
  /** Default `4242`; `0` picks a free port (tests). */
  port?: number;
  /** The URL people reach the admin at; login links are built from it. */
  publicUrl?: string;
  /** Signs cookies; when absent one is made and kept in the store (shared by instances). */
  sessionSecret?: string;
  /** `scrypt$salt$hash` (see `hashPassword`): enables the password form for admins. */
  passwordHash?: string;
  /** How long a login link works. Default 600 s. */
  loginTtlSeconds?: number;
  /**
   * Sign-in attempts allowed per client address and minute, counted over every sign-in route
   * together (login links, their confirmation, the password form). Default 10.
   */
  loginAttemptsPerMinute?: number;
  /**
   * Proxies in front of the admin whose `X-Forwarded-For` is believed: IPs, CIDR ranges
   * (`10.0.0.0/8`) or `loopback`, `linklocal`, `uniquelocal` (Fastify's `trustProxy`). The
   * client's address drives the sign-in rate limit and the audit log. Default `[]`: the
   * connecting address counts and `X-Forwarded-For` is ignored, so no client can pick its own.
   */
  trustProxy?: string[];
  /** How long a session lasts. Default 12 h. */
  sessionTtlSeconds?: number;
  /**
   * What "now" is for everything that expires or is counted per minute: sessions, login links,
   * the sign-in attempts budget, the times of the audit log. Default the system clock; tests
   * pass one they move forward instead of waiting.
   */
  clock?: Clock;
  status?: () => BotStatus;
  stats?: () => Promise<readonly ActionStat[]>;
  errors?: () => Promise<readonly RecentError[]>;
}

/** A started (or ready to start) admin. */
export interface AdminServer {
  /** The Fastify instance (tests use `inject`). */
  readonly app: FastifyInstance;
  /** Starts listening; resolves with the URL it listens on. */
  listen(): Promise<string>;
  /** The base URL of login links: `publicUrl`, or where it listens. */
  readonly url: string;
  /** A single-use login link for an admin (the bot's `/admin` command sends it). */
  loginLink(telegramId: number): Promise<string>;
  close(): Promise<void>;
}
