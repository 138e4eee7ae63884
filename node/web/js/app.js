// natter browser client, the entry module: wires the page's forms, buttons
// and keyboard to the modules beside it and starts (the app if a token is
// saved, else the login form). Plain DOM, no framework, no build step.
// Not for: any logic of its own; each concept has its module:
//   dom.js helpers, state.js client state, api.js HTTP API,
//   connection.js the connection (the natter client SDK, /js/natter/,
//   does reconnect, resume, resend and dedupe), frames.js frame handlers,
//   session.js login view + session, chats.js chat list + open chat,
//   messages.js messages + sends, history.js history pages,
//   edits.js edits, deletions, reactions and replies,
//   members.js members + presence, notice.js notices + announcements,
//   read-state.js typing + unread badges + MarkRead,
//   room-list.js, message-list.js, member-list.js rendering.

import { $ } from './dom.js';
import { createPrivate, joinRoom, leaveChat, openChat } from './chats.js';
import { onBrowserOffline, onBrowserOnline, setConnectionHooks } from './connection.js';
import { onMessageAction } from './edits.js';
import { handlers } from './frames.js';
import { onMessagesScroll } from './history.js';
import { retryPending, sendMessage } from './messages.js';
import { hideNotice } from './notice.js';
import { wireReadState } from './read-state.js';
import { authenticate, enterApp, logout, onApiError } from './session.js';
import { state } from './state.js';
import { setRefreshEnd } from './token-refresh.js';

// onSubmit calls fn on a form's submit instead of navigating.
function onSubmit(id, fn) {
  $(id).addEventListener('submit', (ev) => { ev.preventDefault(); fn(); });
}

function wireSession() {
  onSubmit('auth-form', () => authenticate('/api/sessions'));
  $('register').addEventListener('click', () => authenticate('/api/users'));
  $('logout').addEventListener('click', () => logout(''));
  $('notice-dismiss').addEventListener('click', hideNotice);
  window.addEventListener('online', onBrowserOnline);
  window.addEventListener('offline', onBrowserOffline);
}

function wireRooms() {
  onSubmit('join-form', () => joinRoom($('room-name').value.trim()));
  onSubmit('private-form', () => createPrivate($('private-name').value.trim()).catch(onApiError));
  $('rooms').addEventListener('click', (ev) => {
    const li = ev.target.closest('li[data-chat-id]');
    if (li) openChat(li.dataset.chatId);
  });
  $('leave-room').addEventListener('click', () => leaveChat(state.current));
}

function wireMessages() {
  onSubmit('composer', sendMessage);
  $('message-input').addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      sendMessage();
    }
  });
  $('messages').addEventListener('scroll', onMessagesScroll);
  $('messages').addEventListener('click', (ev) => {
    const btn = ev.target.closest('button[data-retry]');
    if (btn) retryPending(btn.dataset.retry);
    const action = ev.target.closest('button[data-action]');
    if (action) onMessageAction(action);
  });
}

function start() {
  setConnectionHooks(handlers, logout);
  setRefreshEnd(logout);
  wireSession();
  wireRooms();
  wireMessages();
  wireReadState();
  if (state.token) enterApp();
  else $('name').focus();
}

// Module scripts run after the document is parsed; the check is for safety.
if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
else start();
