// Members and presence. MemberList replaces a chat's list; JoinedRoom,
// LeftRoom and presence frames patch it. Presence is per user, so one
// Online/Offline updates the user in every chat.
// Not for: our own joins and leaves (chats.js) or drawing (member-list.js).

import { renderMembers } from './member-list.js';
import { state } from './state.js';

export function onMemberList(c) {
  const map = new Map();
  const online = new Set(c.online || []);
  const members = c.members || (c.users || []).map((u) => ({ user: u, name: u }));
  for (const m of members) {
    const isOnline = m.online !== undefined ? Boolean(m.online) : online.has(m.user);
    map.set(m.user, { user: m.user, name: m.name || m.user, role: m.role || 'member', online: isOnline });
    if (isOnline) state.online.add(m.user);
    else state.online.delete(m.user);
  }
  state.members.set(c.chat, map);
  if (c.chat === state.current) renderMembers();
}

export function setOnline(user, online) {
  if (online) state.online.add(user);
  else state.online.delete(user);
  for (const members of state.members.values()) {
    const m = members.get(user);
    if (m) m.online = online;
  }
  renderMembers();
}

// addMember adds the user of a JoinedRoom frame to a chat whose list we hold.
export function addMember(c) {
  const members = state.members.get(c.chat);
  if (!members || members.has(c.user)) return;
  state.online.add(c.user); // a join comes from a connected device
  members.set(c.user, { user: c.user, name: c.name || c.user, role: 'member', online: true });
  if (c.chat === state.current) renderMembers();
}

// removeMember drops the user of a LeftRoom frame from a chat's list.
export function removeMember(c) {
  const members = state.members.get(c.chat);
  if (members && members.delete(c.user) && c.chat === state.current) renderMembers();
}
