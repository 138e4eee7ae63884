// Rendering of the chat list (#rooms, the open one marked active, unread
// counts as data-unread) and of the open chat's header (title, Leave, and
// whether the composer is enabled).
// Not for: which chats exist or which is open (chats.js); this module only
// reads the state.

import { $, el } from './dom.js';
import { state } from './state.js';

const label = (chat) => chat.name || '(direct chat)';

export function renderRooms() {
  const list = $('rooms');
  list.replaceChildren();
  for (const chat of state.chats.values()) list.append(roomEl(chat));
}

function roomEl(chat) {
  const li = el('li');
  li.dataset.chatId = chat.id;
  li.dataset.kind = chat.kind;
  if (chat.unread) li.dataset.unread = String(chat.unread);
  const btn = el('button', '', label(chat));
  btn.type = 'button';
  btn.title = label(chat);
  if (chat.id === state.current) {
    li.classList.add('active');
    btn.setAttribute('aria-current', 'true');
  }
  li.append(btn);
  return li;
}

export function renderRoomHeader() {
  const chat = state.current && state.chats.get(state.current);
  $('room-title').textContent = chat ? label(chat) : 'No room open';
  $('leave-room').hidden = !chat;
  $('message-input').disabled = !chat;
  $('send').disabled = !chat;
}
