// The login view and the session: log in or register with the form, keep
// the token in localStorage (so a reload stays logged in), enter the app
// (validate the token, load the chats, connect, reopen the last chat) and
// log out back to the form, with a reason when the session ended on its own.
// Not for: the socket (connection.js) or the chat list (chats.js).

import { $, capitalize } from './dom.js';
import { SESSION_EXPIRED, api } from './api.js';
import { loadChats, openChat } from './chats.js';
import { connect, disconnect } from './connection.js';
import { clearAnnouncements, hideNotice, showNotice } from './notice.js';
import { renderRoomHeader } from './room-list.js';
import { ROOM_KEY, TOKEN_KEY, clearState, state } from './state.js';
import { stopRefresh } from './token-refresh.js';

export function showAuthError(msg) {
  const box = $('auth-error');
  box.textContent = msg ? capitalize(msg) : '';
  box.hidden = !msg;
}

// authenticate posts the form to path (/api/sessions or /api/users).
export async function authenticate(path) {
  const name = $('name').value.trim();
  const password = $('password').value;
  if (!name || !password) return showAuthError('Enter a name and a password.');
  showAuthError('');
  setAuthBusy(true);
  try {
    const res = await api('POST', path, { name, password });
    state.token = res.token;
    state.me = { user: res.user, name: res.name };
    localStorage.setItem(TOKEN_KEY, res.token);
    $('password').value = '';
    await enterApp();
  } catch (err) {
    showAuthError(err.message);
  } finally {
    setAuthBusy(false);
  }
}

function setAuthBusy(busy) {
  $('login').disabled = $('register').disabled = busy;
}

// logout ends the session and shows the form with reason (may be empty).
export function logout(reason) {
  disconnect();
  stopRefresh();
  localStorage.removeItem(TOKEN_KEY);
  localStorage.removeItem(ROOM_KEY);
  clearState();
  clearView();
  $('app-view').hidden = true;
  $('auth-view').hidden = false;
  showAuthError(reason || '');
  $('name').focus();
}

function clearView() {
  $('rooms').replaceChildren();
  $('messages').replaceChildren();
  $('members').replaceChildren();
  clearAnnouncements();
  hideNotice();
  renderRoomHeader();
}

// onApiError handles a failed API call: a 401 ends the session (true),
// anything else is shown as a notice (false).
export function onApiError(err) {
  if (err.status === 401) {
    logout(SESSION_EXPIRED);
    return true;
  }
  showNotice(err.code, err.message);
  return false;
}

// enterApp validates the token, loads the chat list and opens the socket.
export async function enterApp() {
  $('auth-view').hidden = true;
  $('app-view').hidden = false;
  try {
    const me = await api('GET', '/api/me');
    state.me = { user: me.user, name: me.name };
    $('me').textContent = me.name;
    await loadChats();
  } catch (err) {
    if (onApiError(err)) return;
  }
  connect();
  const saved = localStorage.getItem(ROOM_KEY);
  if (saved && state.chats.has(saved) && !state.current) openChat(saved);
}
