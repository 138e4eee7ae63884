// What a connection resumes: the chats listed in the connect URL, the
// ones resumed by frame after the Welcome (past the URL's budget, the
// next part of a long replay), and a guest's rooms, joined again by name
// before their replay. Each chat resumed or rejoined by frame is held
// (holds.js) until its replay ends; then what was held is delivered.
// Everything here but the rooms belongs to one connection and is cleared
// when it ends.
// Not for: where a chat resumes from (cursors.js), requests (requests.js).

import { Holds } from './holds.js';

/** The server's limit of chats in ?resume=; more are resumed with Resume frames. */
export const MAX_RESUME = 1000;
// The resume list in the URL stays under the node's 8 KiB request line;
// the chats past it resume with Resume frames.
const MAX_RESUME_QUERY = 6 << 10;

export class Resumes {
  #cursors;
  #send;
  #deliver;
  #holds = new Holds();
  #rooms = new Map(); // chat id -> public room name, for a guest to join again
  #rejoining = new Set(); // chat ids a guest is joining again on this connection
  #resuming = new Map(); // chat id -> afterSeq of a Resume frame not answered yet
  #resendControl = false; // the limiter dropped frames: resend Resume and rejoin frames too
  #overflow = []; // [chat, seq] to resume by frame after the Welcome (past the URL's budget)

  /**
   * @param {import('./cursors.js').Cursors} cursors where each chat resumes
   * @param {(channel: string, type: string, contents: object, ref?: string) => boolean} send sends a frame, false if not connected
   * @param {(item: {type: string, contents: object, frame: object}) => void} deliver runs a released frame
   */
  constructor(cursors, send, deliver) {
    this.#cursors = cursors;
    this.#send = send;
    this.#deliver = deliver;
  }

  // socketURL adds ?resume= with every chat we have a cursor for, as
  // many as fit; the others are resumed by frame after the Welcome. A
  // guest resumes nothing in the URL: it is a new guest, member of
  // nothing, until it joins its rooms again.
  socketURL(base, resume = true) {
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

  /** hold keeps a stream frame of a chat being resumed by frame; false if the chat is not held. */
  hold(chat, item) {
    if (!this.#holds.holding(chat)) return false;
    this.#holds.add(chat, item);
    return true;
  }

  /**
   * welcomed starts the resumes of a new connection: a guest's rooms are
   * joined again, and the chats past the URL's budget resumed by frame.
   */
  welcomed(guest) {
    if (guest) this.#rejoin();
    for (const [chat, seq] of this.#overflow) this.resume(chat, seq);
    this.#overflow = [];
  }

  // rejoin: a guest's connection is a new guest, member of nothing. It
  // joins its rooms again (by name), each held until its replay is done;
  // the frames after these (resent sends) are run after the joins.
  #rejoin() {
    for (const [chat, room] of this.#rooms) {
      if (!this.#cursors.has(chat)) continue;
      this.#holds.hold(chat);
      this.#rejoining.add(chat);
      this.#send('chat-room', 'JoinRoom', { room }, 'rejoin:' + chat);
    }
  }

  // resume asks for chat's messages after afterSeq, holding its live
  // frames until the replay is done.
  resume(chat, afterSeq) {
    if (!this.#send('chat-room', 'Resume', { chat, afterSeq }, 'resume:' + chat)) return;
    this.#holds.hold(chat);
    this.#resuming.set(chat, afterSeq);
  }

  /** resumed takes a Resumed frame: the replay, or one part of it, is done. */
  resumed(c) {
    this.#resuming.delete(c.chat);
    if (!c.more) return this.#release(c.chat);
    // One part of a longer replay: deliver it, hold on to what is past
    // it, and ask for the next part.
    for (const item of this.#holds.releaseUpTo(c.chat, c.lastSeq)) this.#deliver(item);
    this.resume(c.chat, Math.max(this.#cursors.point(c.chat) ?? 0, c.lastSeq ?? 0));
  }

  /** joined takes our own JoinedRoom of chat: a guest in its room again gets the replay of what it missed. */
  joined(chat) {
    if (!this.#rejoining.delete(chat)) return;
    const point = this.#cursors.point(chat);
    if (point === undefined) this.#release(chat);
    else this.resume(chat, point);
  }

  /**
   * failed takes an Error: a resume or a guest's rejoin that failed
   * delivers what was held. It returns the chat to forget when the
   * error says we are no longer in it.
   */
  failed(c) {
    for (const prefix of ['resume:', 'rejoin:']) {
      if (!c.ref?.startsWith(prefix)) continue;
      const chat = c.ref.slice(prefix.length);
      this.#rejoining.delete(chat);
      this.#resuming.delete(chat);
      this.#release(chat);
      if (['not_member', 'chat_not_found', 'forbidden'].includes(c.code)) return chat;
    }
    return undefined;
  }

  /** rateLimited notes that the limiter dropped frames: resendDropped sends the resumes and rejoins again. */
  rateLimited() {
    this.#resendControl = true;
  }

  // resendDropped sends the Resume and rejoin frames in progress again
  // after the limiter dropped frames: a dropped one would hold its chat
  // for good, and they are safe to repeat (a replay is merged by seq).
  resendDropped() {
    if (!this.#resendControl) return;
    this.#resendControl = false;
    for (const chat of this.#rejoining) this.#send('chat-room', 'JoinRoom', { room: this.#rooms.get(chat) }, 'rejoin:' + chat);
    for (const [chat, seq] of this.#resuming) this.resume(chat, seq);
  }

  // release delivers what was held of chat, in seq order.
  #release(chat) {
    for (const item of this.#holds.release(chat)) this.#deliver(item);
  }

  /** room notes chat's public room name, for a guest to join it again. */
  room(chat, name) {
    this.#rooms.set(chat, name);
  }

  /** forget stops rejoining chat. */
  forget(chat) {
    this.#rooms.delete(chat);
  }

  /** clear forgets what belonged to the connection that ended: held frames (the next resume replays them) and the resumes and rejoins in progress on it. */
  clear() {
    this.#holds.clear();
    this.#rejoining.clear();
    this.#resuming.clear();
    this.#resendControl = false;
  }
}
