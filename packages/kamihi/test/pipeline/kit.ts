/**
 * A kit for testing one pipeline step alone: real conversations and statistics on the
 * embedded store, the users and Telegram fakes of ../fakes.ts, and a `say` that keeps what
 * the step said instead of sending it.
 */
import { settingsSchema } from "@kamihi/config";
import {
  type Chat,
  type MessageRef,
  type Resolution,
  type Settings,
  silentLogger,
  type TelegramUser,
  type TemplateEngine,
  type User,
} from "@kamihi/core";
import { createMemoryStore } from "@kamihi/db";
import * as v from "valibot";
import { Registry } from "../../src/actions.js";
import { Approvals } from "../../src/approvals.js";
import { Conversations } from "../../src/conversations.js";
import { Menus } from "../../src/menus.js";
import type { Kit, Next, PressedButton, Turn } from "../../src/pipeline/index.js";
import { createTurn } from "../../src/pipeline/turn.js";
import { renderResponse } from "../../src/responses.js";
import { ActionStats } from "../../src/stats.js";
import { FakeTransport, fakeUsers } from "../fakes.js";

/** What a step said, in order: the chat, the message (rendered) and the action named. */
export interface Said {
  chatId: number;
  text: string;
  action: string | undefined;
}

export interface TestKit extends Kit {
  said: Said[];
  users: ReturnType<typeof fakeUsers>;
  transport: FakeTransport;
}

const templates: TemplateEngine = {
  forAction: () => ({
    names: () => [],
    has: () => false,
    render: async (name) => `rendered ${name}`,
  }),
  reload: async () => {},
};

/** A fresh kit: `setup` registers actions before the kit reads them. */
export async function testKit(
  setup: (registry: Registry) => void = () => {},
  settings: Record<string, unknown> = {},
): Promise<TestKit> {
  const store = createMemoryStore();
  await store.connect();
  const registry = new Registry();
  setup(registry);
  const parsed = v.parse(settingsSchema, settings) as unknown as Settings;
  const users = fakeUsers();
  const transport = new FakeTransport();
  const conversations = new Conversations(store, parsed.questions.timeoutSeconds);
  await conversations.init();
  const said: Said[] = [];
  const log = silentLogger;
  return {
    root: "/project",
    settings: parsed,
    log,
    store,
    transport,
    templates,
    users,
    registry,
    conversations,
    stats: new ActionStats(store, log),
    menus: new Menus({ users, transport, registry, log }),
    approvals: new Approvals({ users, transport, settings: parsed, log }),
    me: { id: 777, username: "fakebot", firstName: "Fake" },
    adminLink: undefined,
    asks: registry.list().some((action) => action.questions.length > 0),
    said,
    async say(chatId, response, action) {
      const refs: MessageRef[] = [];
      for (const message of renderResponse(response, action)) {
        said.push({ chatId, text: message.type === "text" ? message.text : message.type, action });
        refs.push({ chatId, messageId: said.length });
      }
      return refs;
    },
  };
}

export const ada: TelegramUser = { id: 5001, is_bot: false, first_name: "Ada" };
export const privateChat: Chat = { id: 5001, type: "private", first_name: "Ada" } as Chat;

/** A turn as `read` leaves it, with `changes` applied. */
export function turnOf(changes: Partial<Turn> = {}): Turn {
  const update = {
    update_id: 1,
    message: { message_id: 1, date: 0, chat: privateChat, from: ada, text: "" },
  } as Turn["update"];
  return { ...createTurn(update, undefined, privateChat, ada, undefined), ...changes };
}

/** A user, and what resolving them gives. */
export function known(changes: Partial<User> = {}): { user: User; resolution: Resolution } {
  const user: User = {
    telegramId: ada.id,
    firstName: "Ada",
    isAdmin: false,
    roles: [],
    status: "active",
    data: {},
    createdAt: new Date(0),
    ...changes,
  };
  const outcome = user.status === "blocked" ? "blocked" : "known";
  return { user, resolution: { outcome, user } };
}

/** A pressed button that records how it was answered. */
export function pressed(): PressedButton & { answers: Array<{ text?: string; alert?: boolean }> } {
  const answers: Array<{ text?: string; alert?: boolean }> = [];
  return {
    ref: { chatId: privateChat.id, messageId: 9 },
    answers,
    async answer(text, alert) {
      if (answers.length > 0) return;
      answers.push({
        ...(text === undefined ? {} : { text }),
        ...(alert === undefined ? {} : { alert }),
      });
    },
  };
}

/** A `next` that counts its calls. */
export function counter(): Next & { calls: number } {
  const next = (async () => {
    next.calls++;
  }) as Next & { calls: number };
  next.calls = 0;
  return next;
}
