// Who is typing, per chat: a Typing frame marks a user for 5 s (the
// protocol's indicator lifetime), StopTyping or a message from them ends
// it. onChange(chat, users) is called whenever a chat's list changes.
// Not for: sending Typing (client.js throttles that).

export const TYPING_TTL = 5000;

export class Typers {
  #chats = new Map(); // chat id -> Map(user id -> {user, name, timer})
  #onChange;

  constructor(onChange) {
    this.#onChange = onChange;
  }

  start(chat, user, name) {
    let users = this.#chats.get(chat);
    if (!users) this.#chats.set(chat, (users = new Map()));
    const old = users.get(user);
    if (old) clearTimeout(old.timer);
    const timer = setTimeout(() => this.stop(chat, user), TYPING_TTL);
    users.set(user, { user, name: name ?? old?.name ?? '', timer });
    if (!old) this.#onChange(chat, this.list(chat));
  }

  stop(chat, user) {
    const users = this.#chats.get(chat);
    const old = users?.get(user);
    if (!old) return;
    clearTimeout(old.timer);
    users.delete(user);
    if (users.size === 0) this.#chats.delete(chat);
    this.#onChange(chat, this.list(chat));
  }

  /** list is chat's typing users as [{user, name}]. */
  list(chat) {
    return [...(this.#chats.get(chat)?.values() ?? [])].map(({ user, name }) => ({ user, name }));
  }

  clear() {
    for (const users of this.#chats.values()) for (const u of users.values()) clearTimeout(u.timer);
    this.#chats.clear();
  }
}
