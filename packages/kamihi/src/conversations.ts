import { randomBytes } from "node:crypto";
import { type Clock, literal, type Store, systemClock } from "@kamihi/core";

/** One user's questions in one chat, as stored: which action, which step, the answers so far. */
export interface Conversation extends Record<string, unknown> {
  /** `chatId:userId`: one conversation per user per chat. */
  key: string;
  /** Random, so buttons of an older conversation do nothing. */
  id: string;
  chatId: number;
  userId: number;
  action: string;
  args: string;
  step: number;
  answers: Record<string, unknown>;
  expiresAt: Date;
}

/**
 * The conversations of a bot, kept in the store (`kamihi_conversations`): a restart or another
 * instance continues where the user is. Steps advance with a compare-and-set on `step`, so a
 * reply handled twice (two instances) counts once.
 */
export class Conversations {
  private readonly collection;
  private readonly timeoutMs: number;
  private readonly now: Clock;
  private ready: Promise<unknown> | undefined;

  constructor(store: Store, timeoutSeconds: number, clock: Clock = systemClock) {
    this.collection = store.collection<Conversation>("conversations");
    this.timeoutMs = timeoutSeconds * 1000;
    this.now = clock;
  }

  init(): Promise<unknown> {
    this.ready ??= Promise.all([
      this.collection.createIndex({ keys: { key: 1 }, unique: true }),
      // Kept a day past expiry, so a late reply is told the question expired (not ignored).
      this.collection.createIndex({ keys: { expiresAt: 1 }, expireAfterSeconds: 86_400 }),
    ]);
    return this.ready;
  }

  /** Starts (or restarts) the conversation of this user in this chat. */
  async begin(chatId: number, userId: number, action: string, args: string): Promise<Conversation> {
    const key = `${chatId}:${userId}`;
    const conversation = {
      key,
      id: randomBytes(6).toString("base64url"),
      chatId,
      userId,
      action,
      args,
      step: 0,
      answers: {},
      expiresAt: new Date(this.now() + this.timeoutMs),
    };
    await this.collection.updateOne({ key }, { $set: conversation }, { upsert: true });
    return conversation;
  }

  /** The conversation waiting for this user here, expired ones included (`expired` says). */
  async find(
    chatId: number,
    userId: number,
  ): Promise<{ conversation: Conversation; expired: boolean } | undefined> {
    const found = await this.collection.findOne({ key: literal(`${chatId}:${userId}`) });
    if (found === null) return undefined;
    const { _id, createdAt, updatedAt, ...conversation } = found;
    return {
      conversation: conversation as Conversation,
      expired: found.expiresAt.getTime() <= this.now(),
    };
  }

  /** Saves one answer; false when another handler advanced the conversation first. */
  async answer(conversation: Conversation, name: string, value: unknown): Promise<boolean> {
    const result = await this.collection.updateOne(
      { key: literal(conversation.key), id: literal(conversation.id), step: conversation.step },
      {
        $set: {
          [`answers.${name}`]: value,
          step: conversation.step + 1,
          expiresAt: new Date(this.now() + this.timeoutMs),
        },
      },
    );
    if (result.modifiedCount === 0) return false;
    conversation.answers[name] = value;
    conversation.step += 1;
    return true;
  }

  /** Ends the conversation (done, cancelled, refused). */
  async end(conversation: Pick<Conversation, "key" | "id">): Promise<boolean> {
    const { deletedCount } = await this.collection.deleteOne({
      key: literal(conversation.key),
      id: literal(conversation.id),
    });
    return deletedCount > 0;
  }

  /** Ends whatever conversation this user has here; true when there was one. */
  async drop(chatId: number, userId: number): Promise<boolean> {
    const { deletedCount } = await this.collection.deleteOne({
      key: literal(`${chatId}:${userId}`),
    });
    return deletedCount > 0;
  }
}
