// Notices and announcements: a server or network error is shown in the
// notice strip until dismissed; global-channel frames scroll through a
// small announcements strip (the newest five).
// Not for: the connection status (connection.js) or errors on the login
// form (session.js).

import { $, capitalize, el } from './dom.js';

export function showNotice(code, message) {
  const text = message || code || 'Something went wrong.';
  $('notice-text').textContent = capitalize(text);
  $('notice').dataset.code = code || '';
  $('notice').hidden = false;
}

export function hideNotice() {
  $('notice').hidden = true;
}

export function announce(text) {
  const list = $('announcements');
  const li = el('li', '', text);
  li.title = `${new Date().toLocaleTimeString()} ${text}`;
  list.prepend(li);
  while (list.childElementCount > 5) list.lastElementChild.remove();
  $('announcements-bar').hidden = false;
}

export function clearAnnouncements() {
  $('announcements').replaceChildren();
  $('announcements-bar').hidden = true;
}
