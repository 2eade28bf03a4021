/**
 * Small fakes of Kamihi's ports, written for the tests: Telegram in memory and a user service in
 * memory. They implement the ports as documented in `@kamihi/core`, nothing more.
 */
import assert from "node:assert/strict";
import {
  type BotCommand,
  type BotInfo,
  KamihiError,
  type MessageRef,
  type NewUser,
  type OutgoingMessage,
  type Permission,
  type Resolution,
  type Transport,
  type Update,
  type UpdateContext,
  type UpdateHandler,
  type User,
  type UserPatch,
  type UserService,
} from "@kamihi/core";

/** What a conversation needs from a chat: send, and wait for the bot's next reply. */
export interface Talk {
  send(text: string): Promise<unknown>;
  expectReply(matcher: string | RegExp): Promise<unknown>;
}

/** Telegram in memory: updates go in by hand, what the bot sends is kept per chat. */
export class FakeTransport implements Transport<{ marker: string; update: Update }> {
  readonly sent = new Map<number, OutgoingMessage[]>();
  readonly events: string[] = [];
  private onUpdate: UpdateHandler<{ marker: string; update: Update }> | undefined;
  private waiters: Array<() => void> = [];
  private nextId = 1;

  async getMe(): Promise<BotInfo> {
    this.events.push("getMe");
    return { id: 777, username: "fakebot", firstName: "Fake" };
  }
  async start(onUpdate: UpdateHandler<{ marker: string; update: Update }>): Promise<void> {
    this.events.push("start");
    this.onUpdate = onUpdate;
  }
  async stop(): Promise<void> {
    this.events.push("stop");
    this.onUpdate = undefined;
  }
  contextFor(update: Update): UpdateContext<{ marker: string; update: Update }> {
    return { raw: { marker: "fake context", update } };
  }
  async send(chatId: number, message: OutgoingMessage): Promise<MessageRef[]> {
    const list = this.sent.get(chatId) ?? [];
    list.push(message);
    this.sent.set(chatId, list);
    for (const wake of this.waiters.splice(0)) wake();
    return [{ chatId, messageId: this.nextId++ }];
  }
  async edit(): Promise<void> {}
  async delete(): Promise<void> {}
  async answerCallback(
    _id: string,
    _options?: { text?: string; showAlert?: boolean },
  ): Promise<void> {}
  readonly menus: Array<readonly BotCommand[]> = [];
  async setCommands(commands: readonly BotCommand[]): Promise<void> {
    this.menus.push(commands);
  }
  async downloadFile(): Promise<never> {
    throw new Error("no files here");
  }
  raw(): unknown {
    return this;
  }

  /** A user writing to the bot in their private chat. */
  chat(userId: number, firstName: string): Talk {
    let read = 0;
    return {
      send: async (text) => {
        if (this.onUpdate === undefined) throw new Error("the bot is not receiving");
        const chat = { id: userId, type: "private" as const, first_name: firstName };
        const from = { id: userId, is_bot: false, first_name: firstName };
        const update = {
          update_id: this.nextId++,
          message: { message_id: this.nextId++, date: 0, chat, from, text },
        } as Update;
        await this.onUpdate(update, this.contextFor(update));
      },
      expectReply: async (matcher) => {
        for (;;) {
          const message = this.sent.get(userId)?.[read];
          if (message !== undefined) {
            read++;
            const text = message.type === "text" ? message.text : "";
            const plain = text.replace(/\\(.)/g, "$1").trim();
            if (typeof matcher === "string") assert.equal(plain, matcher);
            else assert.match(plain, matcher);
            return message;
          }
          await new Promise<void>((wake) => this.waiters.push(wake));
        }
      },
    };
  }
}

/** Users, roles and permissions in memory: enough of the port for a bot to run on. */
export function fakeUsers(): UserService & { users: Map<number, User>; initialised: number } {
  const users = new Map<number, User>();
  const grants = new Map<string, Set<number>>();
  const listeners = new Set<(change: { users: readonly number[] }) => void>();
  const must = (telegramId: number) => {
    const user = users.get(telegramId);
    if (user === undefined)
      throw new KamihiError("KAMIHI_USER_NOT_FOUND", `No user ${telegramId}.`);
    return user;
  };
  const changed = (...ids: number[]) => {
    for (const listener of listeners) listener({ users: ids });
  };
  const permission = (action: string): Permission => ({
    action,
    users: [...(grants.get(action) ?? [])],
    roles: [],
  });
  const service = {
    users,
    initialised: 0,
    async init() {
      service.initialised++;
    },
    async ensureAdmins(ids: readonly number[]) {
      for (const id of ids) {
        const user = users.get(id);
        if (user === undefined)
          await service.createUser({ telegramId: id, firstName: `Admin ${id}`, isAdmin: true });
        else user.isAdmin = true;
      }
    },
    async resolve(from: { id: number }): Promise<Resolution> {
      const user = users.get(from.id);
      if (user === undefined) return { outcome: "unknown" };
      return user.status === "blocked" ? { outcome: "blocked", user } : { outcome: "known", user };
    },
    getUser: async (telegramId: number) => users.get(telegramId) ?? null,
    listUsers: async () => ({ users: [...users.values()], total: users.size }),
    async createUser(input: NewUser): Promise<User> {
      if (users.has(input.telegramId)) throw new KamihiError("KAMIHI_USER_EXISTS", "Exists.");
      const user: User = {
        isAdmin: false,
        roles: [],
        status: "active",
        data: {},
        createdAt: new Date(),
        ...input,
      } as User;
      users.set(user.telegramId, user);
      changed(user.telegramId);
      return user;
    },
    async updateUser(telegramId: number, patch: UserPatch) {
      const user = Object.assign(must(telegramId), patch);
      changed(telegramId);
      return user;
    },
    deleteUser: async (telegramId: number) => users.delete(telegramId),
    listRoles: async () => [],
    createRole: async () => {
      throw new KamihiError("KAMIHI_ROLE_INVALID_NAME", "This service keeps no roles.");
    },
    deleteRole: async () => false,
    listPermissions: async () => [...grants.keys()].map(permission),
    async grant(action: string, to: { users?: number[] }) {
      const set = grants.get(action) ?? new Set();
      for (const id of to.users ?? []) set.add(id);
      grants.set(action, set);
      changed(...(to.users ?? []));
      return permission(action);
    },
    async revoke(action: string, from: { users?: number[] }) {
      for (const id of from.users ?? []) grants.get(action)?.delete(id);
      changed(...(from.users ?? []));
      return permission(action);
    },
    removePermission: async (action: string) => grants.delete(action),
    allowedActions: async (user: User) =>
      [...grants].filter(([, ids]) => user.isAdmin || ids.has(user.telegramId)).map(([a]) => a),
    can: async (user: User, action: string) =>
      user.isAdmin || (grants.get(action)?.has(user.telegramId) ?? false),
    assignRole: async (_role: string, telegramId: number) => must(telegramId),
    unassignRole: async (_role: string, telegramId: number) => must(telegramId),
    decide: async () => ({ outcome: "missing" as const }),
    fields: () => [],
    refresh: async () => [],
    onChange(listener: (change: { users: readonly number[] }) => void) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  return service as unknown as UserService & { users: Map<number, User>; initialised: number };
}
