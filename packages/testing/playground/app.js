// The Kamihi playground page: a Telegram-like chat with a bot running on the Bot API emulator.
// Everything the bot sends is built with DOM nodes, never with HTML strings.

const $ = (selector) => document.querySelector(selector);

const ui = {
  switcher: $("#user-switcher"),
  chatList: $("#chat-list"),
  title: $("#chat-title"),
  subtitle: $("#chat-subtitle"),
  avatar: $("#chat-avatar"),
  messages: $("#messages"),
  menu: $("#menu"),
  keyboard: $("#reply-keyboard"),
  keyboardToggle: $("#keyboard-toggle"),
  composer: $("#composer"),
  input: $("#text-input"),
  file: $("#file-input"),
  menuButton: $("#menu-button"),
  toast: $("#toast"),
  alert: $("#alert"),
  alertText: $("#alert-text"),
};

const state = {
  bot: { firstName: "Bot", username: "" },
  users: [],
  group: null,
  userId: 0,
  /** "private" or "group": which of the current user's chats is open. */
  open: "private",
  /** chat id → { messages: Map<id, message>, menus: Map<userId, commands>, keyboard } */
  chats: new Map(),
  /** chat id → messages from others not seen yet */
  unread: new Map(),
  /** chat ids whose one-time keyboard the user has used (hidden until shown again) */
  keyboardHidden: new Set(),
};

// ------------------------------------------------------------------ server

async function api(path, body) {
  const init =
    body === undefined
      ? {}
      : body instanceof FormData
        ? { method: "POST", body, headers: { "x-kamihi-playground": "1" } }
        : {
            method: "POST",
            body: JSON.stringify(body),
            headers: { "content-type": "application/json", "x-kamihi-playground": "1" },
          };
  const response = await fetch(path, init);
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.error ?? `The playground answered ${response.status}.`);
  return data;
}

const currentChatId = () => (state.open === "group" && state.group ? state.group.id : state.userId);
const userById = (id) => state.users.find((user) => user.id === id);

async function loadChat(chatId, userId = state.userId) {
  const data = await api(`/api/chat?user=${userId}&chat=${chatId}`);
  const chat = chatState(chatId);
  chat.messages = new Map(data.messages.map((message) => [message.message_id, message]));
  chat.menus.set(userId, data.menu);
  chat.keyboard = data.keyboard;
  chat.loaded = true;
  return chat;
}

function chatState(chatId) {
  let chat = state.chats.get(chatId);
  if (chat === undefined) {
    chat = { messages: new Map(), menus: new Map(), keyboard: null, loaded: false };
    state.chats.set(chatId, chat);
  }
  return chat;
}

/** Follows the bot's changes; resolves once connected, so nothing is missed after it. */
function listen() {
  const events = new EventSource("/api/events");
  let connected = false;
  return new Promise((resolve) => {
    events.addEventListener("open", () => {
      ui.subtitle.classList.remove("offline");
      if (connected) {
        // Whatever happened while disconnected: read the chats again.
        for (const chat of state.chats.values()) chat.loaded = false;
        void show();
      }
      connected = true;
      resolve();
    });
    events.addEventListener("error", () => {
      ui.subtitle.textContent = "connecting…";
      ui.subtitle.classList.add("offline");
    });
    events.addEventListener("message", (event) => apply(JSON.parse(event.data)));
  });
}

function apply(change) {
  const chat = chatState(change.chat);
  const open = change.chat === currentChatId();
  switch (change.type) {
    case "message": {
      const isNew = !chat.messages.has(change.message.message_id);
      chat.messages.set(change.message.message_id, change.message);
      if (open) renderMessage(change.message, true);
      else if (isNew && change.message.from?.id !== state.userId) countUnread(change.chat);
      break;
    }
    case "edit":
      chat.messages.set(change.message.message_id, change.message);
      if (open) renderMessage(change.message, false);
      break;
    case "delete":
      chat.messages.delete(change.messageId);
      if (open) document.getElementById(`message-${change.messageId}`)?.remove();
      if (open && chat.messages.size === 0) renderMessages();
      break;
    case "keyboard":
      chat.keyboard = change.keyboard ?? null;
      state.keyboardHidden.delete(change.chat);
      if (open) renderKeyboard();
      break;
    case "menu":
      // A chat's own menu changed: read it again for whoever looks at it next.
      chat.menus.clear();
      if (open) void refreshMenu();
      break;
  }
}

function countUnread(chatId) {
  state.unread.set(chatId, (state.unread.get(chatId) ?? 0) + 1);
  renderSidebar();
}

// ------------------------------------------------------------------ sidebar

function renderSidebar() {
  // Options are updated in place: replacing them would close the list under the user's pointer.
  if (ui.switcher.options.length !== state.users.length) {
    ui.switcher.replaceChildren(
      ...state.users.map((user) => el("option", { value: String(user.id) })),
    );
  }
  state.users.forEach((user, index) => {
    const option = ui.switcher.options[index];
    const unread = state.unread.get(user.id) ?? 0;
    option.textContent = `${fullName(user)} (${user.label})${unread > 0 && user.id !== state.userId ? ` · ${unread} new` : ""}`;
  });
  ui.switcher.value = String(state.userId);

  const user = userById(state.userId);
  const items = [
    {
      kind: "private",
      chatId: state.userId,
      title: `${state.bot.firstName} · ${user?.label ?? ""}`,
      subtitle: `@${state.bot.username} — private chat with ${user?.firstName ?? ""}`,
      avatar: initials(state.bot.firstName),
    },
  ];
  if (state.group) {
    items.push({
      kind: "group",
      chatId: state.group.id,
      title: state.group.title,
      subtitle: `group: ${state.users.map((u) => u.firstName).join(", ")} and the bot`,
      avatar: initials(state.group.title),
    });
  }
  ui.chatList.replaceChildren(
    ...items.map((item) => {
      const button = el("button", { className: "chat-item", type: "button" });
      button.classList.toggle("active", item.kind === state.open);
      const avatar = el("span", { className: "avatar", textContent: item.avatar });
      if (item.kind === "group") avatar.classList.add("group");
      const names = el("span", { className: "chat-names" }, [
        el("span", { className: "chat-title", textContent: item.title }),
        el("span", { className: "chat-subtitle", textContent: item.subtitle }),
      ]);
      button.append(avatar, names);
      const unread = state.unread.get(item.chatId) ?? 0;
      if (unread > 0 && item.kind !== state.open)
        button.append(el("span", { className: "badge", textContent: String(unread) }));
      button.addEventListener("click", () => {
        state.open = item.kind;
        void show();
      });
      return button;
    }),
  );
}

// ------------------------------------------------------------------ the open chat

async function show() {
  const chatId = currentChatId();
  state.unread.delete(chatId);
  renderSidebar();
  hideMenu();
  const chat = chatState(chatId);
  if (!chat.loaded || !chat.menus.has(state.userId)) {
    try {
      await loadChat(chatId);
    } catch (error) {
      toast(error.message, true);
      return;
    }
  }
  if (chatId !== currentChatId()) return; // switched again meanwhile
  const user = userById(state.userId);
  if (state.open === "group") {
    ui.title.textContent = state.group.title;
    ui.subtitle.textContent = `${state.users.length + 1} members · you are ${fullName(user)} (${user.label})`;
    ui.avatar.textContent = initials(state.group.title);
    ui.avatar.classList.add("group");
  } else {
    ui.title.textContent = state.bot.firstName;
    ui.subtitle.textContent = `bot · you are ${fullName(user)} (${user.label})`;
    ui.avatar.textContent = initials(state.bot.firstName);
    ui.avatar.classList.remove("group");
  }
  renderMessages();
  renderKeyboard();
}

async function refreshMenu() {
  try {
    await loadChat(currentChatId());
    if (!ui.menu.hidden) showMenu(ui.input.value);
  } catch (error) {
    toast(error.message, true);
  }
}

function renderMessages() {
  const chat = chatState(currentChatId());
  const messages = [...chat.messages.values()].sort((a, b) => a.message_id - b.message_id);
  if (messages.length === 0) {
    ui.messages.replaceChildren(
      el("p", {
        className: "empty",
        textContent: "No messages yet. Send /start, or open the menu to see the commands.",
      }),
    );
    return;
  }
  ui.messages.replaceChildren(...messages.map(messageElement));
  scrollToEnd();
}

/** Adds or replaces one message in the open chat. */
function renderMessage(message, scroll) {
  ui.messages.querySelector(".empty")?.remove();
  const element = messageElement(message);
  const existing = document.getElementById(element.id);
  if (existing) {
    existing.replaceWith(element);
    return;
  }
  const later = [...ui.messages.children].find(
    (child) => Number(child.dataset.id) > message.message_id,
  );
  ui.messages.insertBefore(element, later ?? null);
  if (scroll) scrollToEnd();
}

function scrollToEnd() {
  ui.messages.scrollTop = ui.messages.scrollHeight;
}

function messageElement(message) {
  const fromBot = message.from?.is_bot === true;
  const mine = message.from?.id === state.userId;
  const element = el("div", { className: "message", id: `message-${message.message_id}` });
  element.dataset.id = String(message.message_id);
  element.classList.add(fromBot ? "bot" : "user");
  if (mine) element.classList.add("mine");

  if (message.chat.type !== "private" && !mine) {
    element.append(
      el("div", {
        className: "sender",
        textContent: fromBot ? state.bot.firstName : fullName(message.from),
      }),
    );
  }
  if (message.reply_to_message) {
    const quoted = message.reply_to_message;
    element.append(
      el("div", { className: "quote" }, [
        el("b", { textContent: quoted.from ? fullName(quoted.from) : "" }),
        el("div", { textContent: truncate(quoted.text || "(media)", 80) }),
      ]),
    );
  }
  const media = mediaElement(message);
  if (media) element.append(media);
  const text = message.text ?? message.caption;
  if (text !== undefined) {
    const body = el("div", { className: "text" });
    body.append(formatted(text, message.entities ?? message.caption_entities ?? []));
    element.append(body);
  }
  if (!media && text === undefined) {
    element.append(
      el("div", {
        className: "text unsupported",
        textContent: "(a message the playground cannot show)",
      }),
    );
  }
  const meta = el("div", { className: "meta" });
  if (message.edit_date) meta.append(el("span", { className: "edited", textContent: "edited " }));
  meta.append(time(message.date));
  element.append(meta);

  const rows = message.reply_markup?.inline_keyboard;
  if (Array.isArray(rows) && rows.length > 0) element.append(inlineKeyboard(message, rows));
  return element;
}

function mediaElement(message) {
  const file = (id) => `/api/files/${encodeURIComponent(id)}`;
  if (Array.isArray(message.photo) && message.photo.length > 0) {
    const largest = message.photo[message.photo.length - 1];
    return el("img", {
      src: file(largest.file_id),
      alt: message.caption ?? "Photo",
      loading: "lazy",
    });
  }
  if (message.sticker) return el("img", { src: file(message.sticker.file_id), alt: "Sticker" });
  if (message.video || message.animation) {
    const video = message.video ?? message.animation;
    const element = el("video", { src: file(video.file_id), controls: true, preload: "metadata" });
    if (message.animation) Object.assign(element, { autoplay: true, loop: true, muted: true });
    return element;
  }
  if (message.audio || message.voice) {
    const audio = message.audio ?? message.voice;
    const player = el("audio", { src: file(audio.file_id), controls: true, preload: "metadata" });
    const name = message.audio?.title ?? message.audio?.file_name;
    return name ? el("div", {}, [el("small", { textContent: name }), player]) : player;
  }
  if (message.document) {
    const doc = message.document;
    return el(
      "a",
      { className: "document", href: file(doc.file_id), download: doc.file_name ?? "" },
      [
        el("span", { className: "icon", textContent: "⬇" }),
        el("span", {}, [
          el("b", { textContent: doc.file_name ?? "File" }),
          el("small", {
            textContent: [size(doc.file_size), doc.mime_type].filter(Boolean).join(" · "),
          }),
        ]),
      ],
    );
  }
  if (message.location) {
    const { latitude, longitude } = message.location;
    const map = `https://www.openstreetmap.org/?mlat=${latitude}&mlon=${longitude}#map=15/${latitude}/${longitude}`;
    return el("div", { className: "location" }, [
      el("span", { className: "icon", textContent: "📍" }),
      el("span", {}, [
        el("b", { textContent: message.venue?.title ?? "Location" }),
        el("small", { textContent: `${latitude.toFixed(5)}, ${longitude.toFixed(5)}` }),
        el("a", {
          href: map,
          target: "_blank",
          rel: "noopener noreferrer",
          textContent: "Open map",
        }),
      ]),
    ]);
  }
  if (message.contact) {
    const c = message.contact;
    return el("div", { className: "document" }, [
      el("span", { className: "icon", textContent: "👤" }),
      el("span", {}, [
        el("b", { textContent: [c.first_name, c.last_name].filter(Boolean).join(" ") }),
        el("small", { textContent: c.phone_number }),
      ]),
    ]);
  }
  return null;
}

function inlineKeyboard(message, rows) {
  return el(
    "div",
    { className: "inline-keyboard" },
    rows.map((row) =>
      el(
        "div",
        { className: "row" },
        row.map((button) => {
          if (button.url) {
            return el("a", {
              className: "inline-button",
              href: safeUrl(button.url) ?? "#",
              target: "_blank",
              rel: "noopener noreferrer",
              textContent: `${button.text} ↗`,
            });
          }
          const element = el("button", {
            className: "inline-button",
            type: "button",
            textContent: button.text,
          });
          if (button.callback_data === undefined) {
            element.disabled = true;
            element.title = "This kind of button does not work in the playground.";
          } else {
            element.addEventListener("click", () => press(message, button, element));
          }
          return element;
        }),
      ),
    ),
  );
}

// ------------------------------------------------------------------ formatting

/** Text with Telegram's entities (UTF-16 offsets, as JavaScript strings count) as DOM nodes. */
function formatted(text, entities) {
  const fragment = document.createDocumentFragment();
  const sorted = entities
    .filter((e) => e.length > 0)
    .map((e) => ({ ...e }))
    .sort((a, b) => a.offset - b.offset || b.length - a.length);
  build(fragment, text, sorted, 0, text.length);
  return fragment;
}

function build(parent, text, entities, start, end, literal = false) {
  let position = start;
  const queue = [...entities];
  const plain = (from, to) =>
    literal ? parent.append(text.slice(from, to)) : autolink(parent, text.slice(from, to));
  while (queue.length > 0) {
    const entity = queue.shift();
    if (entity.offset < position) continue;
    if (entity.offset >= end) break;
    plain(position, entity.offset);
    const stop = Math.min(entity.offset + entity.length, end);
    const inner = [];
    while (queue.length > 0 && queue[0].offset < stop) {
      const child = queue.shift();
      const childEnd = child.offset + child.length;
      inner.push({ ...child, length: Math.min(childEnd, stop) - child.offset });
      // An entity that goes on past this one continues after it.
      if (childEnd > stop) insertSorted(queue, { ...child, offset: stop, length: childEnd - stop });
    }
    const [outer, content] = entityElement(entity, text.slice(entity.offset, stop));
    // Inside code, links and commands, text stays as it is.
    const keep = literal || LITERAL_ENTITIES.has(entity.type);
    build(content, text, inner, entity.offset, stop, keep);
    parent.append(outer);
    position = stop;
  }
  plain(position, end);
}

const LITERAL_ENTITIES = new Set([
  "code",
  "pre",
  "text_link",
  "url",
  "email",
  "bot_command",
  "mention",
  "text_mention",
]);

/**
 * What Telegram's apps make clickable without an entity: /commands and web addresses. (Telegram
 * adds these entities itself; the emulator keeps only the ones the bot sent.)
 */
function autolink(parent, text) {
  const pattern =
    /(^|[\s(])(\/[A-Za-z0-9_]{1,32})(?=$|[\s.,;:!?)])|\bhttps?:\/\/[^\s<>"]+[^\s<>".,;:!?)]/g;
  let last = 0;
  for (const match of text.matchAll(pattern)) {
    const command = match[2];
    const start = command === undefined ? match.index : match.index + match[1].length;
    const value = command ?? match[0];
    parent.append(text.slice(last, start));
    const [element] = entityElement({ type: command === undefined ? "url" : "bot_command" }, value);
    element.textContent = value;
    parent.append(element);
    last = start + value.length;
  }
  parent.append(text.slice(last));
}

function insertSorted(list, entity) {
  const index = list.findIndex(
    (e) => e.offset > entity.offset || (e.offset === entity.offset && e.length < entity.length),
  );
  list.splice(index === -1 ? list.length : index, 0, entity);
}

/** The element of an entity, and the element its text goes into (the same, but for `pre`). */
function entityElement(entity, content) {
  const one = (element) => [element, element];
  switch (entity.type) {
    case "bold":
      return one(el("strong"));
    case "italic":
      return one(el("em"));
    case "underline":
      return one(el("u"));
    case "strikethrough":
      return one(el("s"));
    case "spoiler": {
      const spoiler = el("span", { className: "spoiler", title: "Spoiler: click to show" });
      spoiler.addEventListener("click", () => spoiler.classList.add("revealed"));
      return one(spoiler);
    }
    case "code":
      return one(el("code"));
    case "pre": {
      const code = el("code", entity.language ? { className: `language-${entity.language}` } : {});
      return [el("pre", {}, [code]), code];
    }
    case "blockquote":
    case "expandable_blockquote":
      return one(el("blockquote"));
    case "text_link": {
      const href = safeUrl(entity.url);
      return one(
        href
          ? el("a", { href, target: "_blank", rel: "noopener noreferrer", title: entity.url })
          : el("span"),
      );
    }
    case "url": {
      const href = safeUrl(/^[a-z][a-z0-9+.-]*:/i.test(content) ? content : `http://${content}`);
      return one(
        href ? el("a", { href, target: "_blank", rel: "noopener noreferrer" }) : el("span"),
      );
    }
    case "email":
      return one(el("a", { href: `mailto:${content}` }));
    case "bot_command": {
      const command = el("span", { className: "command", title: "Send this command" });
      command.addEventListener("click", () => void send(content));
      return one(command);
    }
    case "mention":
    case "text_mention":
    case "hashtag":
    case "cashtag":
      return one(el("span", { className: entity.type }));
    default:
      return one(el("span"));
  }
}

function safeUrl(url) {
  try {
    const parsed = new URL(url);
    return ["http:", "https:", "tg:", "mailto:"].includes(parsed.protocol) ? parsed.href : null;
  } catch {
    return null;
  }
}

// ------------------------------------------------------------------ keyboards and menu

function renderKeyboard() {
  const chatId = currentChatId();
  const keyboard = chatState(chatId).keyboard;
  ui.input.placeholder = keyboard?.input_field_placeholder || "Message";
  if (!keyboard) {
    ui.keyboard.hidden = true;
    ui.keyboardToggle.hidden = true;
    return;
  }
  const hidden = state.keyboardHidden.has(chatId);
  ui.keyboardToggle.hidden = !hidden;
  ui.keyboard.hidden = hidden;
  ui.keyboard.replaceChildren(
    ...keyboard.keyboard.map((row) =>
      el(
        "div",
        { className: "row" },
        row.map((key) => {
          const label = typeof key === "string" ? key : key.text;
          const button = el("button", {
            className: "reply-button",
            type: "button",
            textContent: label,
          });
          const special =
            typeof key === "object" &&
            (key.request_contact ||
              key.request_location ||
              key.request_poll ||
              key.web_app ||
              key.request_users ||
              key.request_chat);
          if (special) {
            button.disabled = true;
            button.title = "This kind of button does not work in the playground.";
          } else {
            button.addEventListener("click", () => {
              if (keyboard.one_time_keyboard) {
                state.keyboardHidden.add(chatId);
                renderKeyboard();
              }
              void send(label);
            });
          }
          return button;
        }),
      ),
    ),
  );
}

function showMenu(filter = "") {
  const commands = chatState(currentChatId()).menus.get(state.userId) ?? [];
  const wanted = filter.replace(/^\//, "").toLowerCase();
  const shown = commands.filter((c) => c.command.toLowerCase().startsWith(wanted));
  ui.menu.replaceChildren(
    ...(shown.length === 0
      ? [
          el("p", {
            className: "menu-empty",
            textContent:
              commands.length === 0
                ? "The bot has no commands for you here."
                : "No command starts with that.",
          }),
        ]
      : shown.map((c) => {
          const item = el("button", { className: "menu-item", type: "button", role: "menuitem" }, [
            el("b", { textContent: `/${c.command}` }),
            el("span", { textContent: c.description }),
          ]);
          item.addEventListener("click", () => {
            hideMenu();
            void send(`/${c.command}`);
          });
          return item;
        })),
  );
  ui.menu.hidden = false;
}

function hideMenu() {
  ui.menu.hidden = true;
}

// ------------------------------------------------------------------ acting

async function send(text) {
  const chat = currentChatId();
  try {
    const { message } = await api("/api/send", { user: state.userId, chat, text });
    apply({ chat, type: "message", message });
  } catch (error) {
    toast(error.message, true);
  }
}

async function press(message, button, element) {
  element.classList.add("busy");
  try {
    const answer = await api("/api/press", {
      user: state.userId,
      chat: message.chat.id,
      message: message.message_id,
      data: button.callback_data,
    });
    if (answer.showAlert && answer.text) showAlert(answer.text);
    else if (answer.text) toast(answer.text, !answer.answered);
  } catch (error) {
    toast(error.message, true);
  } finally {
    element.classList.remove("busy");
  }
}

async function upload(file) {
  const form = new FormData();
  form.set("user", String(state.userId));
  form.set("chat", String(currentChatId()));
  const caption = ui.input.value.trim();
  if (caption) form.set("caption", caption);
  form.set("file", file, file.name);
  try {
    const { message } = await api("/api/upload", form);
    ui.input.value = "";
    apply({ chat: currentChatId(), type: "message", message });
  } catch (error) {
    toast(error.message, true);
  }
}

let toastTimer;
function toast(text, error = false) {
  ui.toast.textContent = text;
  ui.toast.classList.toggle("error", error);
  ui.toast.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    ui.toast.hidden = true;
  }, 4000);
}

function showAlert(text) {
  ui.alertText.textContent = text;
  ui.alert.showModal();
}

// ------------------------------------------------------------------ helpers

function el(tag, properties = {}, children = []) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(properties)) {
    if (key === "className" || key === "textContent" || key in element) element[key] = value;
    else element.setAttribute(key, value);
  }
  element.append(...children);
  return element;
}

function fullName(user) {
  if (!user) return "";
  return [user.first_name ?? user.firstName, user.last_name ?? user.lastName]
    .filter(Boolean)
    .join(" ");
}

function initials(name) {
  return (name ?? "?")
    .split(/\s+/)
    .filter(Boolean)
    .slice(0, 2)
    .map((word) => [...word][0].toUpperCase())
    .join("");
}

function truncate(text, max) {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function time(seconds) {
  return new Date(seconds * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function size(bytes) {
  if (bytes === undefined) return "";
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

// ------------------------------------------------------------------ start

ui.switcher.addEventListener("change", () => {
  state.userId = Number(ui.switcher.value);
  void show();
});

ui.composer.addEventListener("submit", (event) => {
  event.preventDefault();
  const text = ui.input.value;
  if (text.trim() === "") return;
  ui.input.value = "";
  hideMenu();
  void send(text);
});

ui.input.addEventListener("input", () => {
  const value = ui.input.value;
  if (/^\/\S*$/.test(value)) showMenu(value);
  else hideMenu();
});

ui.input.addEventListener("keydown", (event) => {
  if (event.key === "Escape") hideMenu();
});

ui.menuButton.addEventListener("click", () => {
  if (ui.menu.hidden) showMenu();
  else hideMenu();
});

ui.keyboardToggle.addEventListener("click", () => {
  state.keyboardHidden.delete(currentChatId());
  renderKeyboard();
});

ui.file.addEventListener("change", () => {
  const [file] = ui.file.files;
  ui.file.value = "";
  if (file) void upload(file);
});

$("#alert-ok").addEventListener("click", () => ui.alert.close());

document.addEventListener("click", (event) => {
  if (!ui.menu.hidden && !ui.menu.contains(event.target) && event.target !== ui.menuButton)
    hideMenu();
});

const initial = await api("/api/state");
state.bot = initial.bot;
state.users = initial.users;
state.group = initial.group;
state.userId = initial.users[0].id;
document.title = `${state.bot.firstName} — Kamihi playground`;
await listen();
await show();
document.body.dataset.ready = "true";
