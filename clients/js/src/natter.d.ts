// Types of natter-client (src/natter.js). The frames are those of
// docs/protocol.md in the natter repository.

// ---- frames ------------------------------------------------------------------

/** A chat named by its id, or a public room by its name. */
export type ChatTarget = string | { chat: string } | { room: string };

/** The message a reply answers. */
export interface ReplyRef {
  seq: number;
  user: string;
  name?: string;
  /** The start of the original's text. */
  excerpt: string;
  /** The original was deleted (history only); the excerpt is gone too. */
  deleted?: boolean;
}

/** A message as NewMessage delivers it and history pages list it. */
export interface Message {
  room: string;
  chat: string;
  user: string;
  name: string;
  message: string;
  /** Strictly increasing within a chat, the same on every device. */
  seq: number;
  /** The message id (a UUID; the same for a retried send with the same clientMsgId). */
  id: string;
  /** RFC 3339, UTC, set by the server. */
  postedAt: string;
  /** The sending device. */
  device?: string;
  /** The message this one answers, when it is a reply: enough to draw the quote. */
  replyTo?: ReplyRef;
  /** Set when the message was edited (RFC 3339). */
  editedAt?: string;
  /** A deleted message's tombstone in history. */
  deleted?: boolean;
  /** Reactions in history: emoji -> user ids. */
  reactions?: Record<string, string[]>;
  [extra: string]: unknown;
}

export interface Welcome {
  user: string;
  name: string;
  device: string;
  node: string;
  /** When the connection's token expires (absent for a guest). */
  expiresAt?: string;
  [extra: string]: unknown;
}

export interface Refreshed { expiresAt: string }

export interface Member { user: string; name: string; role: string; online: boolean }

export interface MemberList {
  room: string;
  chat: string;
  /** Every member's user id. */
  users: string[];
  /** Members with a connected device somewhere in the cluster. */
  online: string[];
  members: Member[];
}

export interface MembershipEvent { room: string; chat: string; user: string; name: string }

export interface MessageAccepted {
  room: string;
  chat: string;
  clientMsgId: string;
  id: string;
  seq: number;
  /** True when this clientMsgId had been stored before (seq is the original one). */
  duplicate: boolean;
}

export interface HistoryPage { room: string; chat: string; messages: Message[] }

export interface Resumed { room: string; chat: string; lastSeq: number; more: boolean }

export interface NewMessageReceived { content: string; postedAt: string; user: string }

export interface PresenceEvent { user: string; name: string }

export interface Typing { room: string; chat: string; user: string; name: string }

/** user has read chat up to seq; lastSeq and unread are that user's state then. */
export interface ReadMarker { room?: string; chat: string; user: string; seq: number; lastSeq?: number; unread?: number }

/** One chat's read state for the user. */
export interface ChatUnread { chat: string; room: string; lastSeq: number; readSeq: number; unread: number }

/** The read state of every chat of the user, right after the Welcome. */
export interface Unread { chats: ChatUnread[] }

/**
 * Edits, deletions and reactions are entries of the chat's stream:
 * eventSeq is their own place in it (a resume replays them; a replayed
 * one already seen is dropped like a NewMessage).
 */
export interface StreamEvent { room: string; chat: string; eventSeq: number }

export interface MessageEdited extends StreamEvent { seq: number; user: string; name: string; message: string; editedAt: string }

export interface MessageDeleted extends StreamEvent { seq: number; user: string; name: string }

export interface Reaction extends StreamEvent { seq: number; user: string; name: string; emoji: string; on: boolean }

/** An Error frame's contents (docs/protocol.md, "Errors"). */
export interface ErrorFrame {
  code: string;
  message: string;
  /** The rejected frame's ref, or a send's clientMsgId. */
  ref?: string;
  /** The rejected frame's type. */
  type?: string;
  /** rate_limited: milliseconds until the device may send again. */
  retryAfter?: number;
}

/** A whole frame as it arrives. */
export interface Frame {
  channel: string;
  message: { type: string; contents: unknown };
  ref?: string;
}

// ---- events ------------------------------------------------------------------

export type ClientState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface DisconnectEvent {
  /** The close code (0 when the client gave up on the socket itself). */
  code: number;
  reason: string;
  /** False when the WebSocket never opened (a refused handshake: HTTP 401 or 503 look the same). */
  wasOpen: boolean;
}

/** Every event: one per server frame type, named after it, plus the client's own. */
export interface NatterEvents {
  Welcome: Welcome;
  Refreshed: Refreshed;
  MemberList: MemberList;
  JoinedRoom: MembershipEvent;
  LeftRoom: MembershipEvent;
  /** Each seq of a chat once, in order (duplicates are dropped). */
  NewMessage: Message;
  MessageAccepted: MessageAccepted;
  HistoryPage: HistoryPage;
  Resumed: Resumed;
  NewMessageReceived: NewMessageReceived;
  Ping: unknown;
  Online: PresenceEvent;
  Offline: PresenceEvent;
  Typing: Typing;
  StopTyping: Typing;
  ReadMarker: ReadMarker;
  Unread: Unread;
  MessageEdited: MessageEdited;
  MessageDeleted: MessageDeleted;
  Reaction: Reaction;
  Error: ErrorFrame;

  /** Every frame, before its typed event (also frame types this version does not know). */
  frame: Frame;
  /** A frame that is not JSON or not the envelope. */
  invalidFrame: { data: unknown };
  /** The connection state changed. */
  state: ClientState;
  /** The connection dropped; a reconnect follows ('reconnecting'). */
  disconnect: DisconnectEvent;
  /** A reconnect is planned after delay ms. */
  reconnecting: { attempt: number; delay: number };
  /** The client is closed for good: close(), or the server closed it with 4003 (the token expired or was revoked). */
  close: { code: number; reason: string };
  /** Who is typing in chat changed. */
  typers: { chat: string; users: Array<{ user: string; name: string }> };
}

export type Listener<E extends keyof NatterEvents> = (payload: NatterEvents[E], frame?: Frame) => void;

// ---- the client ----------------------------------------------------------------

export interface Backoff {
  /** First reconnect delay step in ms (default 500). */
  initial?: number;
  /** Largest step in ms (default 10000). */
  max?: number;
}

/** Something `new`-able like the WHATWG WebSocket (browsers, Node 22+, or the ws package). */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => {
  readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: any) => void) | null;
  onmessage: ((ev: { data: any }) => void) | null;
  onerror: ((ev: any) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
};

export interface NatterClientOptions {
  /**
   * The WebSocket URL (ws://host:port/ws; http(s) is turned into ws(s)),
   * or a function giving it for every (re)connect (pick a node).
   */
  url: string | (() => string | Promise<string>);
  /** The user's token, or a function giving the current one; none connects as a guest. */
  token?: string | null | (() => string | null | undefined | Promise<string | null | undefined>);
  /** The WebSocket implementation (default globalThis.WebSocket; on Node 20 pass the ws package's). */
  WebSocket?: WebSocketConstructor;
  backoff?: Backoff;
  /** ms a request (not a send) waits for its answer (default 30000; 0: forever). */
  requestTimeout?: number;
  /** ms a connection may take to its Welcome before it is given up (default 15000). */
  connectTimeout?: number;
  /** Chats to resume from the start: chat id -> the last seq the application holds. */
  resume?: Record<string, number>;
}

export interface RequestOptions {
  /** ms to wait for the answer (default: the client's requestTimeout; 0: forever). */
  timeout?: number;
  signal?: AbortSignal;
}

export interface ChangeOptions extends RequestOptions {
  /** Makes the request idempotent (1-64 of [A-Za-z0-9_-]); one is made if absent. */
  clientMsgId?: string;
}

export interface SendOptions extends ChangeOptions {
  /** false keeps the message from this device (the sender's other devices still get it). */
  echo?: boolean;
  /** The seq of the message this one answers. */
  replyTo?: number;
}

export interface HistoryQuery {
  /** Messages with seq < before. */
  before?: number;
  /** Messages with seq > after. */
  after?: number;
  /** Up to limit messages (default 50, at most 1000). */
  limit?: number;
}

export interface Joined extends MembershipEvent {
  members: MemberList;
  /** Where the chat is resumed from. */
  lastSeq: number;
}

export declare const MAX_RESUME: number;
export declare const TYPING_INTERVAL: number;
export declare const TYPING_TTL: number;
export declare const DEFAULT_BACKOFF: Readonly<Required<Backoff>>;
export declare function backoffDelay(attempt: number, backoff?: Backoff, random?: () => number): number;

export declare const ClientCodes: Readonly<{ CLOSED: 'closed'; TIMEOUT: 'timeout'; ABORTED: 'aborted' }>;

export declare class NatterError extends Error {
  /** A protocol error code (not_member, ...), 'unauthorized' after a 4003 close, or a ClientCodes value. */
  code: string;
  /** The rejected frame's type, when the server named it. */
  type?: string;
  ref?: string;
  constructor(code: string, message: string, details?: { ref?: string; type?: string });
}

export declare class NatterClient {
  constructor(opts: NatterClientOptions);

  readonly state: ClientState;
  /** The Welcome of the current (or last) connection. */
  readonly me: Welcome | null;

  on<E extends keyof NatterEvents>(event: E, fn: Listener<E>): () => void;
  off<E extends keyof NatterEvents>(event: E, fn: Listener<E>): void;
  /** The next event that passes match. */
  once<E extends keyof NatterEvents>(event: E, match?: (payload: NatterEvents[E], frame?: Frame) => boolean, signal?: AbortSignal): Promise<NatterEvents[E]>;

  /** Opens the connection; resolves with the next Welcome. */
  connect(): Promise<Welcome>;
  /** Closes for good; waiting requests reject with 'closed'. */
  close(reason?: string): void;
  /** Drops the connection and connects again at once (the network is back). */
  reconnect(): void;
  /** Sends one raw frame; false when not connected (nothing is queued). */
  sendFrame(channel: string, type: string, contents: unknown, ref?: string): boolean;

  join(target: ChatTarget, opts?: RequestOptions): Promise<Joined>;
  leave(target: ChatTarget, opts?: RequestOptions): Promise<MembershipEvent>;
  history(target: ChatTarget, query?: HistoryQuery, opts?: RequestOptions): Promise<HistoryPage>;
  members(target: ChatTarget, opts?: RequestOptions): Promise<MemberList>;
  /** Resent after every reconnect until accepted; no timeout unless given. */
  send(target: ChatTarget, message: string, opts?: SendOptions): Promise<MessageAccepted>;
  /** Sends not accepted yet, oldest first. */
  pendingSends(): Array<{ chat?: string; room?: string; message: string; clientMsgId: string }>;
  /** Replaces the text of one of our messages. */
  edit(target: ChatTarget, seq: number, message: string, opts?: ChangeOptions): Promise<MessageEdited>;
  /** Deletes a message (ours, or any as the chat's owner). */
  delete(target: ChatTarget, seq: number, opts?: ChangeOptions): Promise<MessageDeleted>;
  /** Adds (on, the default) or takes back (on: false) our reaction. */
  react(target: ChatTarget, seq: number, emoji: string, on?: boolean, opts?: ChangeOptions): Promise<Reaction>;
  /** Hands the connection a newer token (once accepted, also used for every reconnect). */
  refresh(token: string, opts?: RequestOptions): Promise<Refreshed>;

  /** Call on every keystroke: at most one Typing per chat every 2 s. */
  typing(target: ChatTarget): boolean;
  stopTyping(target: ChatTarget): boolean;
  /** Who is typing in chat now. */
  typers(chat: string): Array<{ user: string; name: string }>;
  /** Moves our read marker forward (never back); kept and sent after a reconnect. */
  markRead(chat: string, seq: number): void;

  /** The highest seq of chat delivered as NewMessage. */
  lastSeq(chat: string): number | undefined;
  /** The application holds chat up to seq: resume after it, drop older NewMessages. room lets a guest join it again. */
  track(chat: string, seq: number, room?: string): void;
  untrack(chat: string): void;
  /** Where every tracked chat resumes: chat id -> seq. */
  cursors(): Record<string, number>;
}
