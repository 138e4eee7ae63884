// The chat list and which chat is open: load the list from GET /api/chats,
// add or forget a chat, open one (remembered across reloads), join a
// public room, create a private group, and follow JoinedRoom/LeftRoom
// frames about ourselves.
// Not for: a chat's messages (messages.js, history.js) or members
// (members.js), nor drawing (room-list.js).

import { $ } from './dom.js';
import { api } from './api.js';
import { client, onRequestError, send } from './connection.js';
import { requestHistory } from './history.js';
import { renderMembers } from './member-list.js';
import { addMember, removeMember } from './members.js';
import { renderMessages } from './message-list.js';
import { loadReceipts } from './receipts.js';
import { renderRoomHeader, renderRooms } from './room-list.js';
import { ROOM_KEY, dropChat, historyLoaded, state } from './state.js';

// loadChats replaces the list with the server's; chats added meanwhile are kept.
export async function loadChats() {
  const before = new Set(state.chats.keys());
  const res = await api('GET', '/api/chats');
  const fresh = new Set();
  for (const c of res.chats || []) {
    fresh.add(c.id);
    const old = state.chats.get(c.id);
    state.chats.set(c.id, { id: c.id, name: c.name, kind: c.kind, unread: old ? old.unread : 0 });
  }
  for (const id of before) if (!fresh.has(id) && state.chats.has(id)) forgetChat(id);
  renderRooms();
}

// ensureChat adds a chat learnt from a frame; without its kind, a chat
// without a name is a direct chat (rooms and groups have names).
export function ensureChat(id, name, kind) {
  if (!state.chats.has(id)) {
    state.chats.set(id, { id, name: name || '', kind: kind || (name ? 'public' : 'direct'), unread: 0 });
    renderRooms();
  }
  return state.chats.get(id);
}

function forgetChat(id) {
  dropChat(id);
  if (state.current === id) openChat(null);
  renderRooms();
}

// Opens a chat (null: none): shows what we already have, then asks for
// the newest page and the member list.
export function openChat(id) {
  state.current = id;
  if (id) {
    localStorage.setItem(ROOM_KEY, id);
    state.chats.get(id).unread = 0;
    if (!historyLoaded(id)) requestHistory(id);
    send('chat-room', 'GetMembers', { chat: id });
    loadReceipts(id);
  } else {
    localStorage.removeItem(ROOM_KEY);
  }
  renderRooms();
  renderRoomHeader();
  renderMessages('bottom');
  renderMembers();
  if (id) $('message-input').focus();
}

// joinRoom opens a public room we are in, or joins (or creates) it and
// opens it.
export function joinRoom(name) {
  if (!name) return;
  const known = [...state.chats.values()].find((c) => c.kind === 'public' && c.name.toLowerCase() === name.toLowerCase());
  if (known) return openChat(known.id);
  const c = client();
  if (!c) return;
  c.join({ room: name }).then((joined) => {
    if (client() !== c) return; // logged out meanwhile
    ensureChat(joined.chat, joined.room);
    $('room-name').value = '';
    openChat(joined.chat);
  }, onRequestError);
}

// leaveChat leaves a chat; our LeftRoom (onLeftRoom) forgets it.
export function leaveChat(id) {
  const c = client();
  if (c && id) c.leave(id).catch(onRequestError);
}

// createPrivate creates a private group and opens it; API errors are thrown.
export async function createPrivate(name) {
  if (!name) return;
  const chat = await api('POST', '/api/chats', { name, kind: 'private' });
  ensureChat(chat.id, chat.name, chat.kind);
  openChat(chat.id);
  $('private-name').value = '';
}

export function onJoinedRoom(c) {
  if (state.me && c.user === state.me.user) ensureChat(c.chat, c.room);
  addMember(c);
}

export function onLeftRoom(c) {
  if (state.me && c.user === state.me.user) return forgetChat(c.chat);
  removeMember(c);
}
