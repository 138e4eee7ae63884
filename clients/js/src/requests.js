// Requests waiting for their answer, in the order they were made.
//
// natter answers a frame with a frame of another type and no correlation
// id (HistoryPage for History, JoinedRoom for JoinRoom, MessageAccepted
// for SendMessage); only an Error echoes the request's ref. A device's
// frames are run one after another, so an answer belongs to the oldest
// waiting request that it fits: each request lists the answer types it
// takes and a function that says whether a frame is its answer.
//
// A request that timed out or was aborted after it went out stays as a
// ghost until its answer comes or the connection ends, so that the late
// answer is not taken for the next request of the same kind.
// Not for: sending (outbox.js sends, and resends every live request after
// a reconnect, in this order).

export class Requests {
  #pending = new Map(); // ref -> request, in the order made

  add(req) {
    this.#pending.set(req.ref, req);
  }

  get(ref) {
    return this.#pending.get(ref);
  }

  delete(ref) {
    this.#pending.delete(ref);
  }

  /** live lists the requests still waiting (not ghosts), oldest first. */
  live() {
    return [...this.#pending.values()].filter((r) => !r.ghost);
  }

  /**
   * answer offers a frame to the waiting requests, oldest first; the
   * first whose handler for `type` takes it consumes it. Returns whether
   * one did.
   */
  answer(type, contents) {
    for (const req of this.#pending.values()) {
      const handler = req.answers[type];
      if (!handler || !handler(contents)) continue;
      if (req.finished) this.#pending.delete(req.ref);
      return true;
    }
    return false;
  }

  /** dropGhosts forgets the ghosts: their answers died with the connection. */
  dropGhosts() {
    for (const [ref, req] of this.#pending) if (req.ghost) this.#pending.delete(ref);
  }

  /** rejectAll ends every request with err (the client is closed). */
  rejectAll(err) {
    const all = [...this.#pending.values()];
    this.#pending.clear();
    for (const req of all) if (!req.ghost) req.fail(err);
  }
}

// idempotent says whether req may be sent twice: its clientMsgId makes
// the server apply it once.
export function idempotent(req) {
  return Boolean(req.contents.clientMsgId);
}

// newClientMsgId makes an id for a request that has none: a UUID where
// the platform has them.
export function newClientMsgId() {
  if (globalThis.crypto?.randomUUID) return globalThis.crypto.randomUUID();
  return 'm' + Date.now().toString(36) + Math.random().toString(36).slice(2, 12);
}
