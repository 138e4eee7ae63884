// A small typed event emitter (browsers and Node alike, no dependencies).
// A listener that throws does not stop the others: its error is rethrown
// on a fresh task, where the host reports it (window.onerror,
// uncaughtException), instead of being swallowed.
// Not for: what the events are (client.js names them, natter.d.ts types them).

export class Emitter {
  #listeners = new Map(); // event name -> Set of functions

  /** Calls fn(payload, frame) for every `event`; returns the function that removes it. */
  on(event, fn) {
    if (typeof fn !== 'function') throw new TypeError('natter: a listener must be a function');
    let set = this.#listeners.get(event);
    if (!set) this.#listeners.set(event, (set = new Set()));
    set.add(fn);
    return () => this.off(event, fn);
  }

  off(event, fn) {
    this.#listeners.get(event)?.delete(fn);
  }

  /**
   * Resolves with the payload of the next `event` that passes match (any,
   * without one); rejects with signal's reason if it aborts first.
   */
  once(event, match, signal) {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const onAbort = () => { off(); reject(signal.reason); };
      const off = this.on(event, (payload, frame) => {
        if (match && !match(payload, frame)) return;
        off();
        signal?.removeEventListener('abort', onAbort);
        resolve(payload);
      });
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  emit(event, payload, frame) {
    const set = this.#listeners.get(event);
    if (!set) return;
    for (const fn of [...set]) {
      try {
        fn(payload, frame);
      } catch (err) {
        setTimeout(() => { throw err; }, 0);
      }
    }
  }
}
