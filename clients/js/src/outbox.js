// The requests a client sends and what becomes of them: each goes out
// at once if connected, again after every reconnect until answered (in
// the order made), again a moment later when the limiter dropped it or
// storage was unavailable (if it is safe to repeat), and fails on its
// Error, its timeout or its abort signal.
// Not for: matching answers to requests (requests.js), resumes
// (resume.js).

import { ClientCodes, NatterError } from './errors.js';
import { Requests, idempotent } from './requests.js';

const RETRY_DELAY = 1000; // ms before a send dropped by the limiter or refused as unavailable goes again

export class Outbox {
  #requests = new Requests();
  #refs = 0;
  #send;
  #socket;
  #beforeRetry;
  #timeout;
  #retrying = new Set(); // requests to send again when retryTimer fires
  #retryTimer = null;

  /**
   * @param {object} o
   * @param {(channel: string, type: string, contents: object, ref: string) => boolean} o.send sends a frame, false if not connected
   * @param {() => object|null} o.socket the current socket: a request that gives up after it went out on it stays as a ghost
   * @param {() => void} o.beforeRetry runs when dropped frames are sent again, before the requests
   * @param {number} o.timeout the default request timeout (ms; 0: none)
   */
  constructor({ send, socket, beforeRetry, timeout }) {
    this.#send = send;
    this.#socket = socket;
    this.#beforeRetry = beforeRetry;
    this.#timeout = timeout;
  }

  // request sends a frame and resolves with what its answers make of it.
  // answers: {Type: (contents, req) => boolean} — true when the frame
  // belongs to this request; a handler calls req.done(value) when the
  // request is complete.
  request(type, contents, answers, { timeout = this.#timeout, signal, ref, reset, channel = 'chat-room' } = {}) {
    if (signal?.aborted) return Promise.reject(new NatterError(ClientCodes.ABORTED, `natter: ${type} aborted`));
    return new Promise((resolve, reject) => {
      let timer = null;
      const req = {
        ref: ref ?? `r${++this.#refs}`,
        channel,
        type,
        contents,
        answers: {},
        finished: false,
        ghost: false,
        sentOn: null, // the socket it last went out on
        reset,
        done: (value) => { cleanup(); req.finished = true; resolve(value); },
        fail: (err) => { cleanup(); req.finished = true; reject(err); },
      };
      for (const [t, fn] of Object.entries(answers)) req.answers[t] = (c) => fn(c, req);
      const giveUp = (err) => {
        if (req.finished) return;
        req.fail(err);
        // Already sent on this connection: its answer may still come.
        if (req.sentOn && req.sentOn === this.#socket()) req.ghost = true;
        else this.#requests.delete(req.ref);
      };
      const onAbort = () => giveUp(new NatterError(ClientCodes.ABORTED, `natter: ${type} aborted`));
      const cleanup = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      if (timeout > 0) timer = setTimeout(() => giveUp(new NatterError(ClientCodes.TIMEOUT, `natter: no answer to ${type} within ${timeout} ms`)), timeout);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#requests.add(req);
      this.#transmit(req);
    });
  }

  #transmit(req) {
    req.reset?.(req);
    // The ref (a request's clientMsgId when it has one) comes back in an
    // Error about the frame, also one the server could not read further
    // than its type (unknown_type from an older node).
    if (this.#send(req.channel, req.type, req.contents, req.ref)) req.sentOn = this.#socket();
  }

  /** answer offers a frame to the waiting requests (requests.js). */
  answer(type, contents) {
    return this.#requests.answer(type, contents);
  }

  /** live lists the requests still waiting, oldest first. */
  live() {
    return this.#requests.live();
  }

  /**
   * resendAll runs after a Welcome: whatever was waiting for an answer
   * died with the old connection (or never went out), so it goes again,
   * in the order it was made.
   */
  resendAll() {
    this.#requests.dropGhosts();
    for (const req of this.#requests.live()) this.#transmit(req);
  }

  /**
   * rateLimited takes the limiter's Error: the limiter drops a frame
   * before reading it, so the Error names no request; every waiting
   * request that is safe to repeat (it has a clientMsgId) goes again a
   * moment later; others time out.
   */
  rateLimited(retryAfter) {
    this.#retryLater(this.live().filter(idempotent), retryAfter);
  }

  /** failed takes an Error about one of our requests (by its ref): it fails the request, or retries a send that storage could not take. */
  failed(c) {
    const req = c.ref ? this.#requests.get(c.ref) : undefined;
    if (!req || (c.type && c.type !== req.type)) return;
    // Storage is unavailable for a moment: a send is retried, as it
    // would be after a reconnect, rather than given up.
    if (c.code === 'unavailable' && idempotent(req) && !req.ghost) return this.#retryLater([req]);
    this.#requests.delete(req.ref);
    if (!req.ghost) req.fail(new NatterError(c.code, c.message, c));
  }

  // retryLater sends reqs again in a second, or after the limiter's
  // retryAfter (ms) if that is longer (those still waiting then).
  #retryLater(reqs, retryAfter = 0) {
    for (const req of reqs) this.#retrying.add(req);
    if (this.#retryTimer) return;
    const wait = Math.max(RETRY_DELAY, Number.isFinite(retryAfter) ? retryAfter : 0);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      const due = [...this.#retrying];
      this.#retrying.clear();
      this.#beforeRetry();
      for (const req of due) if (!req.finished && this.#requests.get(req.ref) === req) this.#transmit(req);
    }, wait);
  }

  /** close ends every request with err and retries nothing more (the client is closed). */
  close(err) {
    clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    this.#retrying.clear();
    this.#requests.rejectAll(err);
  }
}
