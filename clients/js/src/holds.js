// Holding a chat's stream frames while it is resumed by frame.
//
// A chat resumed in the connect URL is held by the server from the first
// moment. One resumed with a Resume frame is not: live frames that
// arrive before the server reads the Resume are replayed again by it,
// after messages with lower seqs. Delivered as they come, the replay's
// older messages would look like duplicates and be dropped. So the
// chat's NewMessage, MessageEdited, MessageDeleted and Reaction frames
// are held from the moment the client (re)joins or resumes the chat until
// the replay ends (Resumed, or an Error about the Resume), then delivered
// in seq order, each once. A held frame lost with its connection is no
// loss: the chat's cursor did not move, so the next resume replays it.
// Not for: deciding what is a duplicate (cursors.js).

export class Holds {
  #chats = new Map(); // chat id -> [{type, contents, frame, seq}]

  hold(chat) {
    if (!this.#chats.has(chat)) this.#chats.set(chat, []);
  }

  holding(chat) {
    return this.#chats.has(chat);
  }

  add(chat, item) {
    this.#chats.get(chat).push(item);
  }

  /** release ends chat's hold; returns what was held, in seq order. */
  release(chat) {
    const items = this.#chats.get(chat) ?? [];
    this.#chats.delete(chat);
    return items.sort((a, b) => a.seq - b.seq);
  }

  /**
   * releaseUpTo returns what is held of chat up to seq, in seq order, and
   * keeps holding the rest: a replay in parts (Resumed.more) has
   * delivered up to seq, and a live frame held beyond it may still have
   * replayed messages before it.
   */
  releaseUpTo(chat, seq) {
    const items = this.#chats.get(chat);
    if (!items) return [];
    const out = items.filter((i) => i.seq <= seq);
    this.#chats.set(chat, items.filter((i) => i.seq > seq));
    return out.sort((a, b) => a.seq - b.seq);
  }

  /** clear drops every hold (the connection ended; the next resume replays). */
  clear() {
    this.#chats.clear();
  }
}
