// Rendering of the open chat's message list (#messages): the whole list
// from the store, or one row inserted at its seq position, replaced or
// removed; pending (unacknowledged) sends stay last with "sending…" or a
// Retry button; plus the scroll position helpers.
// Not for: deciding which messages exist (messages.js, history.js); this
// module only reads the state.

import { $, el } from './dom.js';
import { isMine, state, store } from './state.js';

const box = () => $('messages');

// renderMessages redraws the open chat. 'bottom' scrolls to the newest;
// 'keep' keeps the distance from the bottom so prepending older pages
// does not jump.
export function renderMessages(scroll) {
  const list = box();
  const fromBottom = list.scrollHeight - list.scrollTop;
  list.replaceChildren();
  const chat = state.current;
  if (!chat) return;
  const paging = state.paging.get(chat);
  if (paging && paging.done) list.append(el('p', 'history-edge', 'Beginning of the conversation'));
  const sorted = [...store(chat).values()].sort((a, b) => a.seq - b.seq);
  for (const m of sorted) list.append(messageEl(m));
  for (const [cid, p] of state.pending) if (p.chat === chat) list.append(pendingEl(cid, p));
  if (scroll === 'bottom') scrollToBottom();
  else list.scrollTop = list.scrollHeight - fromBottom;
}

function messageEl(m) {
  const node = el('div', 'message');
  node.dataset.seq = String(m.seq);
  if (m.deleted) {
    node.classList.add('deleted');
    node.append(el('div', 'text', 'Message deleted'));
    return node;
  }
  if (m.id) node.dataset.id = m.id;
  if (isMine(m)) node.classList.add('own');
  const meta = metaEl(m.name || m.user || 'unknown', m.postedAt);
  if (m.editedAt) meta.append(el('span', 'edited', '(edited)'));
  if (isMine(m) && m.seq <= (state.seen.get(state.current) || 0)) meta.append(el('span', 'seen', '✓✓ seen'));
  if (m.replyTo) {
    const q = m.replyTo;
    node.append(el('blockquote', 'quote', `${q.name || q.user}: ${q.deleted ? 'message deleted' : q.excerpt}`));
  }
  node.append(meta, el('div', 'text', m.message), actionsEl(m));
  return node;
}

// actionsEl is a message's reactions (click to toggle yours) and its
// buttons: reply and 👍 for all, edit and delete for one's own.
function actionsEl(m) {
  const row = el('div', 'actions');
  const button = (action, label, emoji) => {
    const b = el('button', `action ${action}`, label);
    b.type = 'button';
    b.dataset.action = action;
    b.dataset.seq = String(m.seq);
    if (emoji) b.dataset.emoji = emoji;
    return b;
  };
  const reactions = m.reactions || {};
  for (const emoji of Object.keys(reactions).sort()) {
    row.append(button('react', `${emoji} ${reactions[emoji].length}`, emoji));
  }
  if (!reactions['👍']) row.append(button('react', '👍', '👍'));
  row.append(button('reply', 'Reply'));
  if (isMine(m)) row.append(button('edit', 'Edit'), button('delete', 'Delete'));
  return row;
}

function pendingEl(clientMsgId, p) {
  const node = el('div', 'message pending own');
  node.dataset.clientId = clientMsgId;
  const meta = metaEl(state.me ? state.me.name : '', null, p.failed ? 'not sent' : 'sending…');
  if (p.failed) {
    node.classList.add('failed');
    const retry = el('button', 'retry', 'Retry');
    retry.type = 'button';
    retry.dataset.retry = clientMsgId;
    meta.append(retry);
  }
  node.append(meta, el('div', 'text', p.text));
  return node;
}

// metaEl is the sender and the time posted (or label when not posted yet).
function metaEl(sender, postedAt, label) {
  const meta = el('div', 'meta');
  const time = el('time', 'time');
  if (postedAt) setTime(time, postedAt);
  else time.textContent = label || '';
  meta.append(el('span', 'sender', sender), time);
  return meta;
}

// setTime shows the time of day for today, else the date too.
function setTime(time, postedAt) {
  const d = new Date(postedAt);
  time.dateTime = postedAt;
  time.title = d.toLocaleString();
  const sameDay = d.toDateString() === new Date().toDateString();
  time.textContent = sameDay
    ? d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
    : d.toLocaleString([], { dateStyle: 'short', timeStyle: 'short' });
}

// Inserts a message element at its seq position (pending ones stay last).
export function insertMessageEl(m) {
  const list = box();
  const node = messageEl(m);
  const rows = list.querySelectorAll('.message[data-seq]');
  for (let i = rows.length - 1; i >= 0; i--) {
    if (Number(rows[i].dataset.seq) < m.seq) return rows[i].after(node);
  }
  const first = rows[0] || list.querySelector('.message.pending');
  if (first) first.before(node);
  else list.append(node);
}

// replaceMessageEl swaps the row of m.seq, if shown, for one drawn from m.
export function replaceMessageEl(m) {
  const node = box().querySelector(`.message[data-seq="${Number(m.seq)}"]`);
  if (node) node.replaceWith(messageEl(m));
}

export function appendPendingEl(clientMsgId, p) {
  box().append(pendingEl(clientMsgId, p));
}

export function removePendingEl(clientMsgId) {
  for (const node of box().querySelectorAll('.message.pending')) {
    if (node.dataset.clientId === clientMsgId) node.remove();
  }
}

export function isAtBottom() {
  const list = box();
  return list.scrollHeight - list.scrollTop - list.clientHeight < 40;
}

export function scrollToBottom() {
  const list = box();
  list.scrollTop = list.scrollHeight;
}
