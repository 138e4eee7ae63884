// Rendering of the open chat's member list (#members): online first, then
// by name, each with a presence dot; "me" is marked.
// Not for: keeping members or presence current (members.js); this module
// only reads the state.

import { $, el } from './dom.js';
import { state } from './state.js';

export function renderMembers() {
  const list = $('members');
  list.replaceChildren();
  const members = state.current && state.members.get(state.current);
  if (!members) return;
  const sorted = [...members.values()].sort((a, b) =>
    (b.online - a.online) || a.name.localeCompare(b.name));
  for (const m of sorted) list.append(memberEl(m));
}

function memberEl(m) {
  const li = el('li');
  li.dataset.userId = m.user;
  if (m.online) li.classList.add('online');
  if (state.me && m.user === state.me.user) li.classList.add('me');
  const dot = el('span', 'dot');
  dot.setAttribute('role', 'img');
  dot.setAttribute('aria-label', m.online ? 'online' : 'offline');
  li.append(dot, el('span', 'member-name', m.name));
  return li;
}
