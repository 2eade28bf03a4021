import { type Clock, systemClock, type User, type UserService } from "@kamihi/core";

/** Far more than the admins of any bot: past it the map starts again rather than grow. */
const MAX_KEPT = 1000;
/**
 * A user is read again after this long even without a recorded change: an edit made straight
 * in the database, past the user service, still reaches the session check.
 */
const MAX_AGE_MS = 30_000;

/**
 * The users behind the admin's sessions, kept between requests so that the session check of a
 * request does not look its user up among all users (a scan on stores without an index for
 * it). Each request first picks up the changes recorded elsewhere (`users.refresh()`: the CLI,
 * the bot, another instance), and every change of a user drops what is kept of them: someone who
 * stops being an active admin is refused on their next request, as with a lookup each time.
 */
export class SignedInUsers {
  private readonly users: UserService;
  private readonly kept = new Map<number, { user: User; at: number }>();
  /** Counts the changes, so a lookup that a change overtook is not kept. */
  private changes = 0;
  private readonly unsubscribe: () => void;
  private readonly clock: Clock;

  constructor(users: UserService, clock: Clock = systemClock) {
    this.users = users;
    this.clock = clock;
    this.unsubscribe = users.onChange((change) => {
      this.changes += 1;
      if ("all" in change) this.kept.clear();
      else for (const id of change.users) this.kept.delete(id);
    });
  }

  /** The user as it is now (changes made elsewhere included), or null when there is none. */
  async get(telegramId: number): Promise<User | null> {
    await this.users.refresh();
    const kept = this.kept.get(telegramId);
    if (kept !== undefined && this.clock() - kept.at < MAX_AGE_MS) return kept.user;
    const changes = this.changes;
    const user = await this.users.getUser(telegramId);
    if (user !== null && changes === this.changes) {
      if (this.kept.size >= MAX_KEPT) this.kept.clear();
      this.kept.set(telegramId, { user, at: this.clock() });
    }
    return user;
  }

  /** Stops listening to the user service (the admin closes). */
  close(): void {
    this.unsubscribe();
    this.kept.clear();
  }
}
