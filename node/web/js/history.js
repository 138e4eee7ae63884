// Message history: ask for the newest page when a chat opens, then older
// pages when the list is scrolled to the top (or does not fill the view),
// and merge each page into the store. Paging state per chat:
// {loading, loaded, done}.
// Not for: live delivery or our own sends (messages.js).

import { $ } from './dom.js';
import { client, onRequestError } from './connection.js';
import { isAtBottom, renderMessages } from './message-list.js';
import { PAGE_SIZE, remember, state, store } from './state.js';

// requestHistory asks for the page before seq `before`, or the newest
// page. While disconnected the SDK keeps the request and sends it after
// the reconnect.
export function requestHistory(chat, before) {
  const paging = state.paging.get(chat) || { loading: false, loaded: false, done: false };
  state.paging.set(chat, paging);
  const c = client();
  if (!c || paging.loading || (before !== undefined && paging.done)) return;
  paging.loading = true;
  c.history(chat, { before, limit: PAGE_SIZE }).then(onHistoryPage, (err) => {
    paging.loading = false;
    onRequestError(err);
  });
}

function loadOlder() {
  const chat = state.current;
  if (!chat) return;
  const seqs = [...store(chat).keys()];
  if (!seqs.length) return;
  requestHistory(chat, Math.min(...seqs));
}

function onHistoryPage(c) {
  const list = c.messages || [];
  const paging = state.paging.get(c.chat) || {};
  paging.loading = false;
  paging.loaded = true;
  if (list.length < PAGE_SIZE) paging.done = true;
  state.paging.set(c.chat, paging);
  for (const m of list) remember(c.chat, m);
  if (c.chat !== state.current) return;
  const box = $('messages');
  const fresh = box.childElementCount === 0 || isAtBottom();
  renderMessages(fresh ? 'bottom' : 'keep');
  // If the page does not fill the view, there is no scrollbar to pull: load more.
  if (!paging.done && box.scrollHeight <= box.clientHeight) loadOlder();
}

export function onMessagesScroll() {
  if ($('messages').scrollTop < 40) loadOlder();
}
