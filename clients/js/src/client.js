// NatterClient: one natter connection that stays up. It connects with a
// token (or as a guest), reconnects with backoff and jitter when the
// connection drops, resumes every chat it has a cursor for from its last
// seq (in the URL, so the server holds live delivery until the replay is
// done; past the URL's budget, or for a guest, which joins its rooms
// again first, by frame with the chat held: resume.js), resends
// every unanswered request after a reconnect (sends keep their
// clientMsgId, so the server stores each once: outbox.js), and drops a
// stream frame whose seq it already delivered (cursors.js). Every frame
// is an event named after its type; requests are promises (requests.js).
// Not for: wire details of one frame kind beyond matching its answer
// (docs/protocol.md), or any UI state.

import { delay as backoffDelay } from './backoff.js';
import { Cursors } from './cursors.js';
import { Emitter } from './emitter.js';
import { ClientCodes, NatterError } from './errors.js';
import { address, answerFor, bySeq, finish, matches } from './address.js';
import { ReadMarks } from './read.js';
import { Outbox } from './outbox.js';
import { newClientMsgId } from './requests.js';
import { Resumes } from './resume.js';
import { Typers } from './typing.js';

export { MAX_RESUME } from './resume.js';
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

export class NatterClient extends Emitter {
  #opts;
  #WS;
  #ws = null;
  #state = 'idle';
  #attempt = 0;
  #reconnectTimer = null;
  #welcomeTimer = null;
  #me = null;
  #cursors = new Cursors();
  #resumes = new Resumes(this.#cursors, (...f) => this.sendFrame(...f), (h) => this.#dispatch(h.type, h.contents, h.frame));
  #guest = false; // this connection is a guest's (no token): its memberships end with it
  #typers = new Typers((chat, users) => this.emit('typers', { chat, users }));
  #typingSent = new Map(); // chat id -> time the last Typing went out
  #read = new ReadMarks((chat, seq) => this.sendFrame('chat-room', 'MarkRead', { chat, seq }));
  #outbox;

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
    this.#outbox = new Outbox({
      send: (...f) => this.sendFrame(...f),
      socket: () => this.#ws,
      beforeRetry: () => this.#resumes.resendDropped(),
      timeout: this.#opts.requestTimeout,
    });
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
      url = this.#resumes.socketURL(await resolveOption(this.#opts.url), Boolean(token));
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

  // onClose handles the end of the current socket; abandon says the
  // socket may still be open or opening and is to be closed unheard.
  #onClose(code, reason, wasOpen, abandon = false) {
    const ws = this.#ws;
    this.#ws = null;
    clearTimeout(this.#welcomeTimer);
    if (abandon && ws) detach(ws);
    this.#resumes.clear();
    const fatal = FATAL_CLOSE.get(code);
    if (fatal) return this.#end(code, reason || fatal);
    this.#typers.clear();
    this.emit('disconnect', { code, reason, wasOpen });
    this.#scheduleReconnect();
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
    this.#resumes.clear();
    clearTimeout(this.#welcomeTimer);
    clearTimeout(this.#reconnectTimer);
    if (ws) detach(ws);
  }

  #end(code, reason) {
    if (this.#state === 'closed') return;
    this.#drop();
    this.#typers.clear();
    this.#setState('closed');
    this.#outbox.close(new NatterError(code === 4003 ? 'unauthorized' : ClientCodes.CLOSED, reason));
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
    if (seqField && this.#resumes.hold(contents.chat, { type, contents, frame, seq: contents[seqField] })) return;
    this.#dispatch(type, contents, frame);
  }

  #dispatch(type, contents, frame) {
    const handle = this.#handlers[type];
    if (handle && handle(contents, frame) === false) return; // dropped (a duplicate)
    this.#outbox.answer(type, contents);
    this.emit(type, contents, frame);
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
    Resumed: (c) => this.#resumes.resumed(c),
    JoinedRoom: (c) => {
      if (c.user === this.#me?.user) this.#resumes.joined(c.chat);
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
      if (c.user === this.#me?.user) this.#read.seen(c.chat, c.seq);
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
    this.#resumes.welcomed(this.#guest);
    this.#outbox.resendAll();
    this.#read.flush();
  }

  #onError(c) {
    // The limiter's Error names no frame: what it dropped goes again.
    if (c.code === 'rate_limited') {
      this.#resumes.rateLimited();
      return this.#outbox.rateLimited(c.retryAfter);
    }
    this.#outbox.failed(c);
    // A resume or a guest's rejoin that failed: what was held is
    // delivered; a chat we are no longer in is not resumed again.
    const gone = this.#resumes.failed(c);
    if (gone) this.#forgetChat(gone);
  }

  #forgetChat(chat) {
    this.#cursors.forget(chat);
    this.#resumes.forget(chat);
    this.#read.forget(chat);
    this.#typingSent.delete(chat);
  }

  // ---- requests --------------------------------------------------------

  // request sends a frame through the outbox (outbox.js), unless the
  // client is closed.
  #request(type, contents, answers, opts) {
    if (this.#state === 'closed') return Promise.reject(new NatterError(ClientCodes.CLOSED, 'natter: the client is closed'));
    return this.#outbox.request(type, contents, answers, opts);
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
    if (addr.room) this.#resumes.room(joined.chat, joined.room || addr.room);
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
    return this.#outbox.live().filter((r) => r.type === 'SendMessage').map((r) => ({ ...r.contents }));
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
    this.#read.mark(chat, seq);
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
    if (room) this.#resumes.room(chat, room);
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
