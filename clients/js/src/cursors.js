// Per-chat cursors: how far this client has the chat's messages, which is
// what makes delivery exactly-once across reconnects.
//
// `seq` is the highest seq delivered as a NewMessage event (live or by a
// resume replay). The server delivers a chat's messages in seq order with
// no gap, so a NewMessage at or below it is a duplicate (a resend, a
// replay overlapping live delivery) and is dropped.
//
// `base` is a resume point known without a delivery: the newest seq of a
// history page, the chat's seq when we joined it, or one the application
// hands in (track). It is used only while no message was delivered, so
// it never suppresses an event: a history page is an answer, not a
// delivery, and may overlap NewMessage events (merge pages by seq).
//
// A reconnect resumes every chat with a cursor from seq (or base).
// Not for: sending anything (client.js turns the list into ?resume=).

export class Cursors {
  #seq = new Map(); // chat id -> highest delivered seq
  #base = new Map(); // chat id -> resume point without a delivery

  /** accept records a delivered message; false if its seq was delivered already. */
  accept(chat, seq) {
    const last = this.#seq.get(chat);
    if (last !== undefined && seq <= last) return false;
    this.#seq.set(chat, seq);
    return true;
  }

  /** note raises chat's resume point without a delivery (history, join). */
  note(chat, seq) {
    if (!Number.isSafeInteger(seq) || seq < 0) return;
    if (seq > (this.#base.get(chat) ?? -1)) this.#base.set(chat, seq);
  }

  /** track says the application holds chat's messages up to seq: later ones only are delivered. */
  track(chat, seq) {
    if (!Number.isSafeInteger(seq) || seq < 0) throw new RangeError(`natter: track(${chat}): seq must be a non-negative integer`);
    if (seq > (this.#seq.get(chat) ?? -1)) this.#seq.set(chat, seq);
  }

  /** has reports whether chat has a cursor (it is resumed on reconnect). */
  has(chat) {
    return this.#seq.has(chat) || this.#base.has(chat);
  }

  /** point is where chat resumes: after this seq; undefined without a cursor. */
  point(chat) {
    return this.#seq.get(chat) ?? this.#base.get(chat);
  }

  /** lastDelivered is the highest seq delivered as NewMessage, or undefined. */
  lastDelivered(chat) {
    return this.#seq.get(chat);
  }

  forget(chat) {
    this.#seq.delete(chat);
    this.#base.delete(chat);
  }

  clear() {
    this.#seq.clear();
    this.#base.clear();
  }

  /** entries lists [chat, resume point] for every chat with a cursor. */
  entries() {
    const out = [];
    for (const chat of new Set([...this.#seq.keys(), ...this.#base.keys()])) out.push([chat, this.point(chat)]);
    return out;
  }
}
