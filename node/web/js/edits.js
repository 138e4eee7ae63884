// Edits, deletions, reactions and replies: apply MessageEdited,
// MessageDeleted and Reaction frames to the stored messages and redraw
// their rows; the actions of a message's buttons (reply, react, edit and
// delete one's own).
// Not for: drawing rows (message-list.js) or sending messages (messages.js).

import { $ } from './dom.js';
import { client, onRequestError } from './connection.js';
import { replaceMessageEl } from './message-list.js';
import { state, store } from './state.js';

// changed applies fn to the stored message c.seq of c.chat, if known, and
// redraws it. (The SDK resumes after the event's own seq, and drops a
// change delivered before.)
function changed(c, fn) {
  const m = store(c.chat).get(c.seq);
  if (!m || m.deleted) return; // an edit that raced with the deletion
  fn(m);
  if (c.chat === state.current) replaceMessageEl(m);
}

export function onMessageEdited(c) {
  changed(c, (m) => { m.message = c.message; m.editedAt = c.editedAt; });
}

export function onMessageDeleted(c) {
  changed(c, (m) => {
    for (const k of Object.keys(m)) if (k !== 'seq' && k !== 'chat') delete m[k];
    m.deleted = true;
  });
}

export function onReaction(c) {
  changed(c, (m) => {
    const r = m.reactions || (m.reactions = {});
    const users = (r[c.emoji] || []).filter((u) => u !== c.user);
    if (c.on) users.push(c.user);
    if (users.length) r[c.emoji] = users;
    else delete r[c.emoji];
  });
}

// onMessageAction runs a message button (data-action, data-seq).
export function onMessageAction(btn) {
  const chat = state.current;
  const seq = Number(btn.dataset.seq);
  const m = chat && store(chat).get(seq);
  if (!m) return;
  switch (btn.dataset.action) {
    case 'reply':
      state.replyTo = seq;
      $('message-input').placeholder = `Reply to ${m.name || m.user}: ${(m.message || '').slice(0, 40)}`;
      $('message-input').focus();
      break;
    case 'react': {
      const mine = ((m.reactions || {})[btn.dataset.emoji] || []).includes(state.me && state.me.user);
      change((c) => c.react(chat, seq, btn.dataset.emoji, !mine));
      break;
    }
    case 'edit': {
      const text = window.prompt('Edit message', m.message);
      if (text && text !== m.message) change((c) => c.edit(chat, seq, text));
      break;
    }
    case 'delete':
      if (window.confirm('Delete this message?')) change((c) => c.delete(chat, seq));
      break;
  }
}

// change asks for a change through the SDK (resent after a reconnect,
// applied once); its frame, which every member gets, updates the view.
function change(fn) {
  const c = client();
  if (c) fn(c).catch(onRequestError);
}

// takeReply returns the seq the next message answers, once.
export function takeReply() {
  const seq = state.replyTo;
  state.replyTo = null;
  $('message-input').placeholder = 'Write a message…';
  return seq || undefined;
}
