// Our read marker per chat: the highest seq marked read, by this device
// or (from ReadMarker frames) another of ours, and the newest wish not
// yet sent. A marker never moves backwards, and a wish made while
// disconnected is kept and sent after the reconnect.
// Not for: other users' markers (they are ReadMarker events).

export class ReadMarks {
  #send;
  #wanted = new Map(); // chat id -> seq to send in MarkRead once connected
  #sent = new Map(); // chat id -> highest seq marked read (ours or another device's)

  /** @param {(chat: string, seq: number) => boolean} send sends a MarkRead, false if not connected */
  constructor(send) {
    this.#send = send;
  }

  /** mark moves the marker of chat to seq; a seq not past the marker (or the wish) sends nothing. */
  mark(chat, seq) {
    if (seq <= (this.#sent.get(chat) ?? 0) || seq <= (this.#wanted.get(chat) ?? 0)) return;
    this.#wanted.set(chat, seq);
    this.#sendMark(chat, seq);
  }

  /** flush sends the wishes kept while disconnected. */
  flush() {
    for (const [chat, seq] of this.#wanted) this.#sendMark(chat, seq);
  }

  /** seen takes a ReadMarker of ours, from this device or another. */
  seen(chat, seq) {
    if (seq > (this.#sent.get(chat) ?? 0)) this.#sent.set(chat, seq);
  }

  forget(chat) {
    this.#wanted.delete(chat);
    this.#sent.delete(chat);
  }

  #sendMark(chat, seq) {
    if (!this.#send(chat, seq)) return;
    this.#wanted.delete(chat);
    this.seen(chat, seq);
  }
}
