// Typing and read state: who is typing in the open chat (#typing), our
// Typing notices while the composer has text, and each chat's unread
// badge kept the same on every device: Unread after the Welcome sets it,
// new messages of others past the chat's lastSeq raise it, our own
// ReadMarker (from any device) lowers it, and the open chat, while the
// page is visible, is marked read (MarkRead) up to its newest message.
// The rules are docs/protocol.md's "Typing and read state".
// Not for: the messages themselves (messages.js) or drawing the list
// (room-list.js).

import { $ } from './dom.js';
import { ensureChat } from './chats.js';
import { client, send } from './connection.js';
import { seenBy } from './receipts.js';
import { renderRooms } from './room-list.js';
import { isMine, state, store } from './state.js';

const TYPING_EVERY = 2000; // the server passes one Typing per 2 s on
const TYPING_SHOWN = 5000; // an indicator lasts 5 s after its last Typing

const reads = new Map(); // chat id -> {lastSeq, readSeq}
const typists = new Map(); // chat id -> Map(user id -> {name, until})
let typingSent = 0; // when our last Typing went
let typingChat = null; // the chat it went to

const readOf = (chat) => {
  if (!reads.has(chat)) reads.set(chat, { lastSeq: 0, readSeq: 0 });
  return reads.get(chat);
};

const setUnread = (chat, n) => {
  const c = state.chats.get(chat);
  if (c && c.unread !== n) { c.unread = n; renderRooms(); }
};

// onUnread takes every chat's read state right after the Welcome.
export function onUnread(c) {
  for (const ch of c.chats || []) {
    const r = readOf(ch.chat);
    r.lastSeq = ch.lastSeq;
    r.readSeq = Math.max(r.readSeq, ch.readSeq);
    ensureChat(ch.chat, ch.room);
    setUnread(ch.chat, ch.chat === state.current ? 0 : ch.unread);
  }
}

// countsUnread reports whether a live message raises its chat's badge:
// one of others past the lastSeq the badge already counts.
export function countsUnread(chat, m) {
  const r = readOf(chat);
  if (m.seq <= r.lastSeq) return false;
  r.lastSeq = m.seq;
  return !isMine(m) && m.seq > r.readSeq;
}

// onReadMarker: our own marker moved (on this or another device) sets the
// badge to the others' messages after it; others' markers are receipts
// (receipts.js).
export function onReadMarker(c) {
  if (!state.me) return;
  if (c.user !== state.me.user) return seenBy(c.chat, c.seq);
  const r = readOf(c.chat);
  if (c.seq < r.readSeq) return;
  r.readSeq = c.seq;
  let n = c.unread || 0;
  for (const m of store(c.chat).values()) if (m.seq > c.lastSeq && !isMine(m)) n++;
  r.lastSeq = Math.max(r.lastSeq, c.lastSeq);
  setUnread(c.chat, c.chat === state.current && visible() ? 0 : n);
}

const visible = () => document.visibilityState === 'visible';

// markRead sends MarkRead for the open chat's newest message when the
// page is visible and it is past what is marked.
export function markRead() {
  const chat = state.current;
  if (!chat || !visible() || !state.me) return;
  const seq = newestSeq(chat);
  const r = readOf(chat);
  if (seq <= r.readSeq) return;
  r.readSeq = seq;
  setUnread(chat, 0);
  // The SDK never moves a marker back, and sends the newest after a reconnect.
  const c = client();
  if (c) c.markRead(chat, seq);
}

// newestSeq is the newest seq of chat we hold: delivered (the SDK's, edits
// included) or from history.
function newestSeq(chat) {
  let seq = (client() && client().lastSeq(chat)) || 0;
  for (const s of store(chat).keys()) if (s > seq) seq = s;
  return seq;
}

// onTyping shows (or, stop, hides) a member typing in a chat.
export function onTyping(c, stop) {
  if (!typists.has(c.chat)) typists.set(c.chat, new Map());
  if (stop) typists.get(c.chat).delete(c.user);
  else typists.get(c.chat).set(c.user, { name: c.name || c.user, until: Date.now() + TYPING_SHOWN });
  renderTyping();
}

// stopShowing hides the indicator of a member whose message arrived.
export function stopShowing(m) {
  const t = typists.get(m.chat);
  if (t && t.delete(m.user)) renderTyping();
}

function renderTyping() {
  const now = Date.now();
  const t = typists.get(state.current) || new Map();
  const names = [];
  for (const [user, v] of t) {
    if (v.until <= now) t.delete(user);
    else names.push(v.name);
  }
  $('typing').textContent = names.length === 0 ? ''
    : `${names.join(', ')} ${names.length === 1 ? 'is' : 'are'} typing…`;
}

// onComposerInput sends Typing while there is text (at most every
// TYPING_EVERY) and StopTyping when it is cleared.
function onComposerInput() {
  const chat = state.current;
  if (!chat) return;
  const text = $('message-input').value;
  const now = Date.now();
  if (text.trim() && (now - typingSent >= TYPING_EVERY || typingChat !== chat)) {
    typingSent = now;
    typingChat = chat;
    send('chat-room', 'Typing', { chat });
  } else if (!text.trim()) {
    stopTyping();
  }
}

// stopTyping sends StopTyping when our Typing may still show: the
// composer was cleared or its message is being sent. The server then
// passes our next Typing on at once.
function stopTyping() {
  const chat = typingChat;
  if (!chat || Date.now() - typingSent >= TYPING_SHOWN) return;
  typingSent = 0;
  typingChat = null;
  send('chat-room', 'StopTyping', { chat });
}

// wireReadState listens to the composer and the page's visibility, and
// ticks the indicators' expiry and the open chat's marking.
export function wireReadState() {
  $('message-input').addEventListener('input', onComposerInput);
  // Capturing, so that StopTyping leaves before the message it ends.
  document.addEventListener('submit', (ev) => { if (ev.target.id === 'composer') stopTyping(); }, true);
  document.addEventListener('keydown', (ev) => {
    if (ev.target.id === 'message-input' && ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) stopTyping();
  }, true);
  document.addEventListener('visibilitychange', markRead);
  setInterval(() => { renderTyping(); markRead(); }, 1000);
}
