import type { BenchUpdate, FakeBotApi, Reply } from "./fake-api.js";

/** Private chats (and their users) of the scenarios are CHAT_BASE, CHAT_BASE + 1, … */
export const CHAT_BASE = 100_000;
/** The user whose name the template shows (every seeded user has it). */
export const USER_NAME = "Ada";

// Update ids grow over the whole bench, so that a store kept between runs could never take a
// new update for one it has already handled.
let nextUpdateId = 1;

/** A `/command arg` in the private chat of `chatId`. */
export function commandUpdate(chatId: number, command: string, withId = true): BenchUpdate {
  const id = nextUpdateId++;
  const text = withId ? `/${command} ${id}` : `/${command}`;
  return {
    update_id: id,
    message: {
      message_id: id,
      date: Math.floor(Date.now() / 1000),
      chat: { id: chatId, type: "private", first_name: USER_NAME },
      from: { id: chatId, is_bot: false, first_name: USER_NAME },
      text,
      entities: [{ type: "bot_command", offset: 0, length: command.length + 1 }],
    },
  };
}

/** `count` `/hello <update_id>` updates, round robin over `chats` chats. */
export function helloUpdates(count: number, chats: number, firstChat = CHAT_BASE): BenchUpdate[] {
  return Array.from({ length: count }, (_, i) => commandUpdate(firstChat + (i % chats), "hello"));
}

/** What went wrong with the replies of a run; all zero when every update got its one reply in order. */
export interface ReplyCounts {
  /** Updates without a reply. */
  lost: number;
  /** Replies to an update that already had one. */
  duplicated: number;
  /** Replies that came after a later update's reply in the same chat. */
  outOfOrder: number;
  /** Replies matching no update (an error message, say). */
  unexpected: number;
  /** Updates the fake Bot API handed over more than once. */
  redelivered: number;
  /** 429 answers of the fake Bot API (its flood limit). */
  tooMany: number;
}

export const NO_PROBLEMS: ReplyCounts = {
  lost: 0,
  duplicated: 0,
  outOfOrder: 0,
  unexpected: 0,
  redelivered: 0,
  tooMany: 0,
};

/** The update id a `/hello <id>` reply names: its last number. */
export function repliedId(text: string): number | undefined {
  const found = /(\d+)\D*$/.exec(text);
  return found === null ? undefined : Number(found[1]);
}

/** Matches each reply to the `/hello` update it answers, and counts what is wrong. */
export function checkHelloReplies(
  api: FakeBotApi,
  updates: readonly BenchUpdate[],
): { counts: ReplyCounts; answered: Map<number, Reply>; problems: string[] } {
  const chatOf = new Map<number, number>();
  for (const update of updates) chatOf.set(update.update_id, update.message.chat.id);
  const answered = new Map<number, Reply>();
  const lastInChat = new Map<number, number>();
  const counts = { ...NO_PROBLEMS, redelivered: api.redelivered, tooMany: api.tooMany };
  const strange: string[] = [];
  for (const reply of api.replies) {
    const id = repliedId(reply.text);
    if (id === undefined || chatOf.get(id) !== reply.chatId) {
      counts.unexpected++;
      strange.push(reply.text);
      continue;
    }
    if (answered.has(id)) {
      counts.duplicated++;
      continue;
    }
    answered.set(id, reply);
    // A chat's updates have growing ids, so its replies must too.
    if ((lastInChat.get(reply.chatId) ?? 0) > id) counts.outOfOrder++;
    else lastInChat.set(reply.chatId, id);
  }
  counts.lost = updates.length - answered.size;
  return { counts, answered, problems: describeUnexpected(strange) };
}

/** A few of the unexpected replies, quoted (what an error message said, say). */
function describeUnexpected(texts: readonly string[]): string[] {
  if (texts.length === 0) return [];
  const examples = [...new Set(texts)].slice(0, 3).map((t) => JSON.stringify(t.slice(0, 120)));
  return [
    `${texts.length} unexpected repl${texts.length === 1 ? "y" : "ies"}: ${examples.join(", ")}`,
  ];
}

/** Checks that every chat got exactly one reply containing `text` (a question's prompt). */
export function checkOnePerChat(
  api: FakeBotApi,
  chats: ReadonlySet<number>,
  text: string,
): { counts: ReplyCounts; problems: string[] } {
  const counts = { ...NO_PROBLEMS, redelivered: api.redelivered, tooMany: api.tooMany };
  const seen = new Set<number>();
  const strange: string[] = [];
  for (const reply of api.replies) {
    if (!chats.has(reply.chatId) || !reply.text.includes(text)) {
      counts.unexpected++;
      strange.push(reply.text);
    } else if (seen.has(reply.chatId)) counts.duplicated++;
    else seen.add(reply.chatId);
  }
  counts.lost = chats.size - seen.size;
  return { counts, problems: describeUnexpected(strange) };
}

/**
 * Whether a run's replies are all as they should be. A redelivery is reported but is not a
 * fault by itself (intake is at-least-once); handling it twice shows up as a duplicate.
 */
export function clean(counts: ReplyCounts): boolean {
  return (
    counts.lost === 0 &&
    counts.duplicated === 0 &&
    counts.outOfOrder === 0 &&
    counts.unexpected === 0 &&
    counts.tooMany === 0
  );
}
