import {
  type Clock,
  type Collection,
  type Logger,
  literal,
  type TelegramUser,
  type User,
} from "@kamihi/core";
import { type AccessCache, MAX_CACHED_USERS } from "./cache.js";
import type { UserDoc } from "./documents.js";
import { profileOf } from "./user-input.js";
import { WriteBehind } from "./write-behind.js";

/** lastSeenAt and profile fields are written at most this often per user. */
export const TOUCH_INTERVAL_MS = 60_000;

const OPTIONAL_PROFILE = ["lastName", "username", "languageCode"] as const;

/** What {@link LastSeen} needs. */
export interface LastSeenOptions {
  users: Collection<UserDoc>;
  cache: AccessCache;
  clock: Clock;
  log: Logger;
}

/**
 * Keeps each user's profile (as Telegram sends it) and `lastSeenAt` up to date without delaying
 * the update: the cached user changes at once, the store behind it, at most once a minute per
 * user unless the profile changed, and never more than two writes at a time.
 */
export class LastSeen {
  private readonly users: Collection<UserDoc>;
  private readonly cache: AccessCache;
  private readonly clock: Clock;
  private readonly lastTouched = new Map<number, number>();
  private readonly writes: WriteBehind<number>;

  constructor(options: LastSeenOptions) {
    this.users = options.users;
    this.cache = options.cache;
    this.clock = options.clock;
    this.writes = new WriteBehind<number>({
      concurrency: 2,
      onError: (userId, error) =>
        options.log.warn({ err: error, userId }, "lastSeenAt could not be saved"),
    });
  }

  /** The user as this update shows them; their profile and lastSeenAt are saved behind. */
  touch(user: User, from: TelegramUser): User {
    const profile = profileOf(from);
    const differs =
      profile.firstName !== user.firstName ||
      profile.lastName !== user.lastName ||
      profile.username !== user.username ||
      profile.languageCode !== user.languageCode;
    const now = this.clock();
    const last = this.lastTouched.get(user.telegramId);
    if (!differs && last !== undefined && now - last < TOUCH_INTERVAL_MS) return user;
    this.lastTouched.set(user.telegramId, now);
    if (this.lastTouched.size > MAX_CACHED_USERS) this.lastTouched.clear();
    const lastSeenAt = new Date(now);
    const updated: User = { ...user, ...profile, lastSeenAt };
    for (const key of OPTIONAL_PROFILE) {
      if (profile[key] === undefined) delete updated[key];
    }
    this.cache.remember(user.telegramId, updated);
    const unset = Object.fromEntries(
      OPTIONAL_PROFILE.filter((key) => profile[key] === undefined).map((key) => [
        key,
        true as const,
      ]),
    );
    this.writes.push(user.telegramId, async () => {
      await this.users.updateOne(
        { telegramId: literal(user.telegramId) },
        {
          $set: { ...profile, lastSeenAt },
          ...(Object.keys(unset).length > 0 ? { $unset: unset } : {}),
        },
      );
    });
    return updated;
  }

  /** Resolves once every write queued so far is saved (or has failed and been logged). */
  flush(): Promise<void> {
    return this.writes.idle();
  }
}
