// NatterClient: one natter connection that stays up. It connects with a
// token (or as a guest), reconnects with backoff and jitter when the
// connection drops, resumes every chat it has a cursor for from its last
// seq (in the URL, so the server holds live delivery until the replay is
// done; past the URL's budget, or for a guest, which joins its rooms
// again first, by frame with the chat held here: holds.js), resends
// every unanswered request after a reconnect (sends keep their
// clientMsgId, so the server stores each once), and drops a stream frame
// whose seq it already delivered (cursors.js). Every frame is an event
// named after its type; requests are promises (requests.js).
// Not for: wire details of one frame kind beyond matching its answer
// (docs/protocol.md), or any UI state.

import { delay as backoffDelay } from './backoff.js';
import { Cursors } from './cursors.js';
import { Emitter } from './emitter.js';
import { Holds } from './holds.js';
import { ClientCodes, NatterError } from './errors.js';
import { address, answerFor, bySeq, finish, matches } from './address.js';
import { Requests, idempotent, newClientMsgId } from './requests.js';
import { Typers } from './typing.js';

/** The server's limit of chats in ?resume=; more are resumed with Resume frames. */
export const MAX_RESUME = 1000;
// The resume list in the URL stays under the node's 8 KiB request line;
// the chats past it resume with Resume frames.
const MAX_RESUME_QUERY = 6 << 10;
// Frames that are entries of a chat's stream, and where their seq is.
const STREAM = { NewMessage: 'seq', MessageEdited: 'eventSeq', MessageDeleted: 'eventSeq', Reaction: 'eventSeq' };
/** Typing is sent at most this often per chat (the server fans out no more). */
export const TYPING_INTERVAL = 2000;

// Close codes after which reconnecting cannot help (docs/protocol.md):
// the token is no good any more. Every other close is reconnected
// (1008 too: too many devices or frames can pass; an application that
// wants to stop then calls close() on the 'disconnect' event).
const FATAL_CLOSE = new Map([
  [4003, 'unauthorized: the token expired or was revoked; log in again'],
]);

const OPEN = 1; // WebSocket.OPEN, the same in every implementation
const RETRY_DELAY = 1000; // ms before a send dropped by the limiter or refused as unavailable goes again

export class NatterClient extends Emitter {
  #opts;
  #WS;
  #ws = null;
  #state = 'idle';
  #attempt = 0;
  #reconnectTimer = null;
  #welcomeTimer = null;
  #refs = 0;
  #me = null;
  #requests = new Requests();
  #cursors = new Cursors();
  #holds = new Holds();
  #guest = false; // this connection is a guest's (no token): its memberships end with it
  #rooms = new Map(); // chat id -> public room name, for a guest to join again
  #rejoining = new Set(); // chat ids a guest is joining again on this connection
  #resuming = new Map(); // chat id -> afterSeq of a Resume frame not answered yet
  #resendControl = false; // the limiter dropped frames: resend Resume and rejoin frames too
  #overflow = []; // [chat, seq] to resume by frame after the Welcome (past the URL's budget)
  #typers = new Typers((chat, users) => this.emit('typers', { chat, users }));
  #typingSent = new Map(); // chat id -> time the last Typing went out
  #readWanted = new Map(); // chat id -> seq to send in MarkRead once connected
  #readSent = new Map(); // chat id -> highest seq marked read (ours or another device's)
  #retrying = new Set(); // requests to send again when retryTimer fires
  #retryTimer = null;

  /**
   * @param {object} opts see natter.d.ts (NatterClientOptions)
   */
  constructor(opts = {}) {
    super();
    if (!opts.url) throw new TypeError('natter: the url option is required (ws://host:port/ws)');
    this.#WS = opts.WebSocket ?? globalThis.WebSocket;
    if (typeof this.#WS !== 'function') {
      throw new TypeError('natter: no WebSocket: pass the WebSocket option (on Node 20: the ws package, or run node with --experimental-websocket)');
    }
    this.#opts = {
      url: opts.url,
      token: opts.token ?? null,
      backoff: opts.backoff ?? {},
      requestTimeout: opts.requestTimeout ?? 30_000,
      connectTimeout: opts.connectTimeout ?? 15_000,
    };
    for (const [chat, seq] of Object.entries(opts.resume ?? {})) this.#cursors.track(chat, seq);
  }

  /** 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed' */
  get state() { return this.#state; }

  /** The Welcome of the current (or last) connection: {user, name, device, node, expiresAt?}. */
  get me() { return this.#me; }

  /**
   * connect opens the connection (if it is not open or opening) and
   * resolves with the next Welcome. From then on the client reconnects
   * by itself until close().
   */
  connect() {
    if (this.#state === 'closed') return Promise.reject(new NatterError(ClientCodes.CLOSED, 'natter: the client is closed'));
    const welcome = this.#nextWelcome();
    if (this.#state === 'open') return Promise.resolve(this.#me);
    if (this.#state === 'idle') this.#open();
    return welcome;
  }

  #nextWelcome() {
    return new Promise((resolve, reject) => {
      const offs = [
        this.on('Welcome', (w) => { offs.forEach((f) => f()); resolve(w); }),
        this.on('close', (c) => { offs.forEach((f) => f()); reject(new NatterError(ClientCodes.CLOSED, c.reason)); }),
      ];
    });
  }

  /** close ends the connection for good; waiting requests reject with code 'closed'. */
  close(reason = 'closed by the client') {
    this.#end(1000, reason);
  }

  /**
   * reconnect drops the current connection (if any) and connects again at
   * once, with the backoff started over: for when the network is known to
   * be back (a browser's online event), where the old socket may be dead
   * without knowing it.
   */
  reconnect() {
    if (this.#state === 'closed') return;
    this.#attempt = 0;
    this.#drop();
    this.#open();
  }

  // ---- connection ------------------------------------------------------

  async #open() {
    clearTimeout(this.#reconnectTimer);
    this.#setState(this.#state === 'idle' ? 'connecting' : 'reconnecting');
    let url;
    let token;
    try {
      token = await resolveOption(this.#opts.token);
      url = this.#socketURL(await resolveOption(this.#opts.url), Boolean(token));
    } catch (err) {
      this.emit('disconnect', { code: 0, reason: `natter: url or token: ${err.message}`, wasOpen: false });
      return this.#scheduleReconnect();
    }
    if (this.#state === 'closed' || this.#ws) return; // closed or reconnected meanwhile
    this.#guest = !token;
    let ws;
    try {
      ws = token ? new this.#WS(url, ['natter', 'token.' + token]) : new this.#WS(url);
    } catch (err) {
      this.emit('disconnect', { code: 0, reason: `natter: ${err.message}`, wasOpen: false });
      return this.#scheduleReconnect();
    }
    this.#ws = ws;
    let opened = false;
    ws.onopen = () => { opened = true; };
    ws.onmessage = (ev) => { if (this.#ws === ws) this.#onData(ev.data); };
    // Browsers follow an error with a close event; Node 20's WebSocket
    // does not when the connection fails before it opens (a refused port
    // while a node restarts), so that failure is taken as the close.
    ws.onerror = () => {
      if (this.#ws === ws && !opened) this.#onClose(1006, 'the connection failed', false, true);
    };
    ws.onclose = (ev) => { if (this.#ws === ws) this.#onClose(ev.code, ev.reason, opened); };
    // A connection that never gets to its Welcome (a silent network) is given up.
    this.#welcomeTimer = setTimeout(() => {
      if (this.#ws === ws) this.#onClose(0, 'no Welcome within connectTimeout', opened, true);
    }, this.#opts.connectTimeout);
  }

  // socketURL adds ?resume= with every chat we have a cursor for, as
  // many as fit; the others are resumed by frame after the Welcome. A
  // guest resumes nothing in the URL: it is a new guest, member of
  // nothing, until it joins its rooms again.
  #socketURL(base, resume = true) {
    const u = new URL(String(base), globalThis.location?.href);
    if (u.protocol === 'http:') u.protocol = 'ws:';
    if (u.protocol === 'https:') u.protocol = 'wss:';
    const list = [];
    let size = 0;
    this.#overflow = [];
    for (const [chat, seq] of resume ? this.#cursors.entries() : []) {
      const item = `${chat}:${seq}`;
      if (list.length < MAX_RESUME && size + item.length + 1 <= MAX_RESUME_QUERY) {
        list.push(item);
        size += item.length + 1;
      } else {
        this.#overflow.push([chat, seq]);
      }
    }
    if (list.length) u.searchParams.set('resume', list.join(','));
    else u.searchParams.delete('resume');
    return u.toString();
  }

  // onClose handles the end of the current socket; abandon says the
  // socket may still be open or opening and is to be closed unheard.
  #onClose(code, reason, wasOpen, abandon = false) {
    const ws = this.#ws;
    this.#ws = null;
    clearTimeout(this.#welcomeTimer);
    if (abandon && ws) detach(ws);
    this.#clearConnectionState();
    const fatal = FATAL_CLOSE.get(code);
    if (fatal) return this.#end(code, reason || fatal);
    this.#typers.clear();
    this.emit('disconnect', { code, reason, wasOpen });
    this.#scheduleReconnect();
  }

  // clearConnectionState forgets what belonged to the connection that
  // ended: held frames (the next resume replays them) and the resumes
  // and rejoins in progress on it.
  #clearConnectionState() {
    this.#holds.clear();
    this.#rejoining.clear();
    this.#resuming.clear();
    this.#resendControl = false;
  }

  #scheduleReconnect() {
    if (this.#state === 'closed') return;
    const wait = backoffDelay(this.#attempt++, this.#opts.backoff);
    this.#setState('reconnecting');
    this.emit('reconnecting', { attempt: this.#attempt, delay: wait });
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = setTimeout(() => this.#open(), wait);
  }

  // drop closes the socket without the close event (we move on ourselves).
  #drop() {
    const ws = this.#ws;
    this.#ws = null;
    this.#clearConnectionState();
    clearTimeout(this.#welcomeTimer);
    clearTimeout(this.#reconnectTimer);
    if (ws) detach(ws);
  }

  #end(code, reason) {
    if (this.#state === 'closed') return;
    this.#drop();
    clearTimeout(this.#retryTimer);
    this.#retrying.clear();
    this.#typers.clear();
    this.#setState('closed');
    this.#requests.rejectAll(new NatterError(code === 4003 ? 'unauthorized' : ClientCodes.CLOSED, reason));
    this.emit('close', { code, reason });
  }

  #setState(state) {
    if (this.#state === state) return;
    this.#state = state;
    this.emit('state', state);
  }

  /** sendFrame sends one raw frame; false if the connection is not open (nothing is queued). */
  sendFrame(channel, type, contents, ref) {
    const ws = this.#ws;
    if (!ws || ws.readyState !== OPEN || this.#state !== 'open') return false;
    const frame = { channel, message: { type, contents } };
    if (ref !== undefined) frame.ref = ref;
    ws.send(JSON.stringify(frame));
    return true;
  }

  // ---- incoming frames -------------------------------------------------

  #onData(data) {
    let frame;
    try {
      frame = JSON.parse(typeof data === 'string' ? data : new TextDecoder().decode(data));
    } catch {
      return this.emit('invalidFrame', { data });
    }
    const type = frame?.message?.type;
    if (typeof type !== 'string') return this.emit('invalidFrame', { data });
    const contents = frame.message.contents ?? {};
    this.emit('frame', frame);
    const seqField = STREAM[type];
    if (seqField && this.#holds.holding(contents.chat)) {
      return this.#holds.add(contents.chat, { type, contents, frame, seq: contents[seqField] });
    }
    this.#dispatch(type, contents, frame);
  }

  #dispatch(type, contents, frame) {
    const handle = this.#handlers[type];
    if (handle && handle(contents, frame) === false) return; // dropped (a duplicate)
    this.#requests.answer(type, contents);
    this.emit(type, contents, frame);
  }

  // release delivers what was held of chat, in seq order.
  #release(chat) {
    for (const { type, contents, frame } of this.#holds.release(chat)) this.#dispatch(type, contents, frame);
  }

  // Frame types that change the client's own state before they are events.
  #handlers = {
    Welcome: (c) => this.#onWelcome(c),
    NewMessage: (c) => {
      if (!Number.isSafeInteger(c.seq) || !c.chat) return true;
      if (!this.#cursors.accept(c.chat, c.seq)) return false;
      this.#typers.stop(c.chat, c.user);
      return true;
    },
    // Edits, deletions and reactions are entries of the chat's stream
    // too, with their own place (eventSeq): delivered in the same order,
    // replayed by a resume, and dropped the same way when seen before.
    MessageEdited: (c) => this.#acceptEvent(c),
    MessageDeleted: (c) => this.#acceptEvent(c),
    Reaction: (c) => this.#acceptEvent(c),
    Resumed: (c) => {
      this.#resuming.delete(c.chat);
      if (!c.more) return this.#release(c.chat);
      // One part of a longer replay: deliver it, hold on to what is past
      // it, and ask for the next part.
      for (const { type, contents, frame } of this.#holds.releaseUpTo(c.chat, c.lastSeq)) this.#dispatch(type, contents, frame);
      this.#resume(c.chat, Math.max(this.#cursors.point(c.chat) ?? 0, c.lastSeq ?? 0));
    },
    JoinedRoom: (c) => {
      if (c.user !== this.#me?.user || !this.#rejoining.delete(c.chat)) return;
      // A guest is in its room again: now the replay of what it missed.
      const point = this.#cursors.point(c.chat);
      if (point === undefined) this.#release(c.chat);
      else this.#resume(c.chat, point);
    },
    HistoryPage: (c) => {
      const last = (c.messages ?? []).at(-1);
      if (last && c.chat) this.#cursors.note(c.chat, last.seq);
    },
    LeftRoom: (c) => {
      if (c.user === this.#me?.user) this.#forgetChat(c.chat);
    },
    Typing: (c) => {
      if (c.user !== this.#me?.user) this.#typers.start(c.chat, c.user, c.name);
    },
    StopTyping: (c) => this.#typers.stop(c.chat, c.user),
    ReadMarker: (c) => {
      if (c.user === this.#me?.user && c.seq > (this.#readSent.get(c.chat) ?? 0)) this.#readSent.set(c.chat, c.seq);
    },
    Error: (c) => this.#onError(c),
  };

  #acceptEvent(c) {
    if (!Number.isSafeInteger(c.eventSeq) || !c.chat) return true;
    return this.#cursors.accept(c.chat, c.eventSeq);
  }

  #onWelcome(c) {
    clearTimeout(this.#welcomeTimer);
    this.#me = c;
    this.#attempt = 0;
    this.#setState('open');
    if (this.#guest) this.#rejoin();
    // Chats past the URL's budget resume by frame.
    for (const [chat, seq] of this.#overflow) this.#resume(chat, seq);
    this.#overflow = [];
    // Whatever was waiting for an answer died with the old connection (or
    // never went out): send it again, in the order it was made.
    this.#requests.dropGhosts();
    for (const req of this.#requests.live()) this.#transmit(req);
    for (const [chat, seq] of this.#readWanted) this.#sendRead(chat, seq);
  }

  // rejoin: a guest's connection is a new guest, member of nothing. It
  // joins its rooms again (by name), each held until its replay is done;
  // the frames after these (resent sends) are run after the joins.
  #rejoin() {
    for (const [chat, room] of this.#rooms) {
      if (!this.#cursors.has(chat)) continue;
      this.#holds.hold(chat);
      this.#rejoining.add(chat);
      this.sendFrame('chat-room', 'JoinRoom', { room }, 'rejoin:' + chat);
    }
  }

  #onError(c) {
    // The limiter drops a frame before reading it, so its Error names no
    // request: every waiting request that is safe to repeat (it has a
    // clientMsgId) goes again a moment later; others time out.
    if (c.code === 'rate_limited') {
      this.#resendControl = true;
      return this.#retryLater(this.#requests.live().filter(idempotent), c.retryAfter);
    }
    const req = c.ref ? this.#requests.get(c.ref) : undefined;
    if (req && (!c.type || c.type === req.type)) {
      // Storage is unavailable for a moment: a send is retried, as it
      // would be after a reconnect, rather than given up.
      if (c.code === 'unavailable' && idempotent(req) && !req.ghost) return this.#retryLater([req]);
      this.#requests.delete(req.ref);
      if (!req.ghost) req.fail(new NatterError(c.code, c.message, c));
    }
    // A resume or a guest's rejoin that failed: deliver what was held;
    // a chat we are no longer in is not resumed again.
    for (const prefix of ['resume:', 'rejoin:']) {
      if (!c.ref?.startsWith(prefix)) continue;
      const chat = c.ref.slice(prefix.length);
      this.#rejoining.delete(chat);
      this.#resuming.delete(chat);
      this.#release(chat);
      if (['not_member', 'chat_not_found', 'forbidden'].includes(c.code)) this.#forgetChat(chat);
    }
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
      // A dropped Resume or rejoin would hold its chat for good: they
      // are safe to repeat (a replay is merged by seq).
      if (this.#resendControl) {
        this.#resendControl = false;
        for (const chat of this.#rejoining) this.sendFrame('chat-room', 'JoinRoom', { room: this.#rooms.get(chat) }, 'rejoin:' + chat);
        for (const [chat, seq] of this.#resuming) this.#resume(chat, seq);
      }
      for (const req of due) if (!req.finished && this.#requests.get(req.ref) === req) this.#transmit(req);
    }, wait);
  }

  #forgetChat(chat) {
    this.#cursors.forget(chat);
    this.#rooms.delete(chat);
    this.#readWanted.delete(chat);
    this.#readSent.delete(chat);
    this.#typingSent.delete(chat);
  }

  // resume asks for chat's messages after afterSeq, holding its live
  // frames until the replay is done.
  #resume(chat, afterSeq) {
    if (!this.sendFrame('chat-room', 'Resume', { chat, afterSeq }, 'resume:' + chat)) return;
    this.#holds.hold(chat);
    this.#resuming.set(chat, afterSeq);
  }

  // ---- requests --------------------------------------------------------

  // request sends a frame and resolves with what its answers make of it.
  // answers: {Type: (contents, req) => boolean} — true when the frame
  // belongs to this request; a handler calls req.done(value) when the
  // request is complete.
  #request(type, contents, answers, { timeout = this.#opts.requestTimeout, signal, ref, reset, channel = 'chat-room' } = {}) {
    if (this.#state === 'closed') return Promise.reject(new NatterError(ClientCodes.CLOSED, 'natter: the client is closed'));
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
        if (req.sentOn && req.sentOn === this.#ws) req.ghost = true;
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
    if (this.sendFrame(req.channel, req.type, req.contents, req.ref)) req.sentOn = this.#ws;
  }

  /**
   * join joins a chat (a public room is created on its first join) and
   * resolves with {chat, room, user, name, members, lastSeq}. The chat is
   * resumed from then on.
   */
  async join(target, opts) {
    const addr = address(target);
    const joined = await this.#request('JoinRoom', addr, {
      MemberList: (c, req) => {
        if (req.members || !matches(addr, c)) return false;
        req.members = c;
        return true;
      },
      JoinedRoom: (c, req) => {
        if (c.user !== this.#me?.user || !matches(addr, c)) return false;
        req.done({ ...c, members: req.members });
        return true;
      },
    }, { ...opts, reset: (req) => { req.members = undefined; } });
    if (addr.room) this.#rooms.set(joined.chat, joined.room || addr.room);
    // Learn where the chat is, so that a reconnect before its first
    // message still resumes it (and misses nothing said meanwhile).
    if (!this.#cursors.has(joined.chat)) {
      const page = await this.history(joined.chat, { limit: 1 }, opts);
      this.#cursors.note(joined.chat, page.messages.at(-1)?.seq ?? 0);
    }
    return { ...joined, lastSeq: this.#cursors.point(joined.chat) };
  }

  /** leave ends the membership; resolves with our LeftRoom. */
  leave(target, opts) {
    const addr = address(target);
    return this.#request('LeaveRoom', addr, {
      LeftRoom: (c, req) => c.user === this.#me?.user && matches(addr, c) && finish(c, req),
    }, opts);
  }

  /**
   * history resolves with a HistoryPage {chat, room, messages} (ascending
   * seq): the newest page, or {before} / {after} a seq, up to limit.
   */
  history(target, { before, after, limit } = {}, opts) {
    const addr = address(target);
    const contents = { ...addr };
    if (before !== undefined) contents.before = before;
    if (after !== undefined) contents.after = after;
    if (limit !== undefined) contents.limit = limit;
    return this.#request('History', contents, { HistoryPage: answerFor(addr) }, opts);
  }

  /** members resolves with the chat's MemberList. */
  members(target, opts) {
    const addr = address(target);
    return this.#request('GetMembers', addr, { MemberList: answerFor(addr) }, opts);
  }

  /**
   * send stores a message and resolves with its MessageAccepted {chat,
   * seq, id, clientMsgId, duplicate}. It is resent after every reconnect
   * until accepted (or the client is closed): the clientMsgId (made here
   * unless given) lets the server store it once. No timeout unless given.
   */
  send(target, message, { clientMsgId = newClientMsgId(), echo, replyTo, timeout = 0, signal } = {}) {
    const contents = { ...address(target), message, clientMsgId };
    if (echo !== undefined) contents.echo = echo;
    if (replyTo !== undefined) contents.replyTo = replyTo;
    return this.#request('SendMessage', contents, {
      MessageAccepted: (c, req) => c.clientMsgId === clientMsgId && finish(c, req),
    }, { timeout, signal, ref: clientMsgId });
  }

  /** pendingSends lists the sends not yet accepted, oldest first: [{clientMsgId, chat?, room?, message}]. */
  pendingSends() {
    return this.#requests.live().filter((r) => r.type === 'SendMessage').map((r) => ({ ...r.contents }));
  }

  // Edits, deletions and reactions are answered by the frame every
  // member gets; like sends they carry a clientMsgId, so a resend after a
  // reconnect is applied once.

  /** edit replaces the text of one of our messages; resolves with the MessageEdited. */
  edit(target, seq, message, { clientMsgId = newClientMsgId(), ...opts } = {}) {
    const addr = address(target);
    return this.#request('EditMessage', { ...addr, seq, message, clientMsgId }, {
      MessageEdited: (c, req) => bySeq(addr, seq, c) && c.user === this.#me?.user && finish(c, req),
    }, { ...opts, ref: clientMsgId });
  }

  /** delete deletes a message (ours, or any as the chat's owner); resolves with the MessageDeleted. */
  delete(target, seq, { clientMsgId = newClientMsgId(), ...opts } = {}) {
    const addr = address(target);
    return this.#request('DeleteMessage', { ...addr, seq, clientMsgId }, {
      MessageDeleted: (c, req) => bySeq(addr, seq, c) && finish(c, req),
    }, { ...opts, ref: clientMsgId });
  }

  /** react adds (on, the default) or takes back (on: false) a reaction; resolves with the Reaction. */
  react(target, seq, emoji, on = true, { clientMsgId = newClientMsgId(), ...opts } = {}) {
    const addr = address(target);
    return this.#request('React', { ...addr, seq, emoji, on, clientMsgId }, {
      Reaction: (c, req) => bySeq(addr, seq, c) && c.user === this.#me?.user && c.emoji === emoji &&
        Boolean(c.on) === Boolean(on) && finish(c, req),
    }, { ...opts, ref: clientMsgId });
  }

  /**
   * refresh hands the connection a newer token of the same user (and,
   * once accepted, uses it for every reconnect); resolves with Refreshed
   * {expiresAt}.
   */
  refresh(token, opts) {
    // Kept for reconnects once the node took it: a token it refused would
    // only fail the next handshake.
    return this.#request('Refresh', { token }, { Refreshed: finish }, { ...opts, channel: 'session' }).then((r) => {
      this.#opts.token = token;
      return r;
    });
  }

  // ---- typing and read state ---------------------------------------------

  /**
   * typing says we are typing in chat; call it on every keystroke: it
   * sends at most one Typing per chat every 2 s. Nothing is queued while
   * disconnected.
   */
  typing(target) {
    const addr = address(target);
    const key = addr.chat ?? '#' + addr.room;
    const now = Date.now();
    if (now - (this.#typingSent.get(key) ?? -Infinity) < TYPING_INTERVAL) return false;
    if (!this.sendFrame('chat-room', 'Typing', addr)) return false;
    this.#typingSent.set(key, now);
    return true;
  }

  /** stopTyping says we stopped (the message was sent or the draft cleared). */
  stopTyping(target) {
    const addr = address(target);
    this.#typingSent.delete(addr.chat ?? '#' + addr.room);
    return this.sendFrame('chat-room', 'StopTyping', addr);
  }

  /** typers lists who is typing in chat now: [{user, name}] (the 'typers' event says when it changes). */
  typers(chat) {
    return this.#typers.list(chat);
  }

  /**
   * markRead moves our read marker in chat to seq (never backwards: a
   * lower seq than already marked sends nothing). While disconnected the
   * newest wish is kept and sent after the reconnect.
   */
  markRead(chat, seq) {
    if (typeof chat !== 'string' || !Number.isSafeInteger(seq) || seq < 0) throw new TypeError('natter: markRead(chat id, seq)');
    if (seq <= (this.#readSent.get(chat) ?? 0) || seq <= (this.#readWanted.get(chat) ?? 0)) return;
    this.#readWanted.set(chat, seq);
    this.#sendRead(chat, seq);
  }

  #sendRead(chat, seq) {
    if (!this.sendFrame('chat-room', 'MarkRead', { chat, seq })) return;
    this.#readWanted.delete(chat);
    if (seq > (this.#readSent.get(chat) ?? 0)) this.#readSent.set(chat, seq);
  }

  // ---- cursors -----------------------------------------------------------

  /** lastSeq is the highest seq of chat delivered as a NewMessage event (undefined: none yet). */
  lastSeq(chat) {
    return this.#cursors.lastDelivered(chat);
  }

  /**
   * track says the application holds chat's messages up to seq (say,
   * from its own storage): the chat is resumed after seq on every
   * (re)connect and older NewMessages are dropped. room, a public room's
   * name, lets a guest join it again after a reconnect.
   */
  track(chat, seq, room) {
    this.#cursors.track(chat, seq);
    if (room) this.#rooms.set(chat, room);
  }

  /** untrack stops resuming chat. */
  untrack(chat) {
    this.#forgetChat(chat);
  }

  /** cursors lists where each tracked chat resumes: {chatId: seq}. */
  cursors() {
    return Object.fromEntries(this.#cursors.entries());
  }
}

// ---- helpers ---------------------------------------------------------------

async function resolveOption(v) {
  return typeof v === 'function' ? v() : v;
}

function detach(ws) {
  ws.onopen = ws.onmessage = ws.onerror = ws.onclose = null;
  try { ws.close(1000, 'reconnecting'); } catch { /* closing a socket that never opened */ }
}
