// Messages of the chats: merge live delivery and resume replays into the
// per-chat store (by seq, so each message is shown once, in order), send
// ours through the SDK (which resends it after a reconnect until it is
// accepted) and show it pending until then, and retry a refused send.
// Not for: history pages (history.js) or drawing rows (message-list.js).

import { $ } from './dom.js';
import { ensureChat } from './chats.js';
import { client } from './connection.js';
import { takeReply } from './edits.js';
import {
  appendPendingEl, insertMessageEl, isAtBottom, removePendingEl, renderMessages,
  replaceMessageEl, scrollToBottom,
} from './message-list.js';
import { renderRooms } from './room-list.js';
import { countsUnread } from './read-state.js';
import { isMine, remember, state, store } from './state.js';

// addMessages merges messages of one chat; live ones of other chats count
// as unread.
export function addMessages(chat, list, live) {
  if (!chat) return;
  const known = ensureChat(chat, list[0] && list[0].room);
  const open = chat === state.current;
  const atBottom = isAtBottom();
  let ownSent = false;
  for (const m of list) {
    if (typeof m.seq !== 'number') continue;
    const isNew = remember(chat, m);
    if (!isNew && !m.local) replaceLocal(chat, m);
    if (isNew && isMine(m) && dropPending(chat, m)) ownSent = true;
    if (!isNew) continue;
    if (open) insertMessageEl(m);
    else if (live && countsUnread(chat, m)) { known.unread++; renderRooms(); }
  }
  if (open && (atBottom || ownSent)) scrollToBottom();
}

// Our own message came back (NewMessage may overtake MessageAccepted):
// drop the oldest pending copy sent from this device with that text.
function dropPending(chat, m) {
  if (!m.device || m.device !== state.device) return false;
  for (const [cid, p] of state.pending) {
    if (p.chat === chat && p.text === m.message && !p.failed) {
      state.pending.delete(cid);
      removePendingEl(cid);
      return true;
    }
  }
  return false;
}

function onAccepted(c) {
  const p = state.pending.get(c.clientMsgId);
  if (!p) return;
  state.pending.delete(c.clientMsgId);
  removePendingEl(c.clientMsgId);
  const m = {
    chat: c.chat, room: c.room, seq: c.seq, id: c.id || c.clientMsgId, message: p.text,
    user: state.me.user, name: state.me.name, postedAt: new Date().toISOString(), local: true,
  };
  addMessages(c.chat, [m], false);
  if (c.chat === state.current) scrollToBottom();
}

// Our own message recorded from MessageAccepted carries a local time; when
// the server's NewMessage for that seq arrives, swap in the real record.
function replaceLocal(chat, m) {
  const bySeq = store(chat);
  const old = bySeq.get(m.seq);
  if (!old || !old.local) return;
  bySeq.set(m.seq, m);
  if (chat === state.current) replaceMessageEl(m);
}

export function sendMessage() {
  const input = $('message-input');
  const text = input.value;
  if (!state.current || !text.trim() || !client()) return;
  const clientMsgId = crypto.randomUUID();
  const replyTo = takeReply();
  state.pending.set(clientMsgId, { chat: state.current, text, failed: false, replyTo });
  input.value = '';
  appendPendingEl(clientMsgId, state.pending.get(clientMsgId));
  scrollToBottom();
  transmit(clientMsgId);
}

// transmit hands a pending message to the SDK. If offline, it goes once
// connected; the same clientMsgId makes every resend one message.
function transmit(clientMsgId) {
  const p = state.pending.get(clientMsgId);
  const c = client();
  if (!p || !c) return;
  c.send(p.chat, p.text, { clientMsgId, replyTo: p.replyTo ?? undefined }).then(onAccepted, () => sendFailed(clientMsgId));
}

export function retryPending(clientMsgId) {
  const p = state.pending.get(clientMsgId);
  if (!p) return;
  p.failed = false;
  renderMessages('keep');
  transmit(clientMsgId);
}

// sendFailed marks the pending message the server refused (Retry shows).
function sendFailed(clientMsgId) {
  const p = state.pending.get(clientMsgId);
  if (!p) return;
  p.failed = true;
  if (state.current === p.chat) renderMessages('keep');
}
