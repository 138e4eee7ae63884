// Incoming frames, by type (the SDK's events; it has parsed them, dropped
// duplicates and kept resuming): one handler per type, plus the handling
// of Welcome (after every (re)connect), Refreshed and Error frames.
// Not for: the connection (connection.js); handlers live with the state
// they change (chats.js, messages.js, members.js).

import { $ } from './dom.js';
import { loadChats, onJoinedRoom, onLeftRoom } from './chats.js';
import { send } from './connection.js';
import { onMessageDeleted, onMessageEdited, onReaction } from './edits.js';
import { requestHistory } from './history.js';
import { onMemberList, setOnline } from './members.js';
import { renderMessages } from './message-list.js';
import { addMessages } from './messages.js';
import { announce, showNotice } from './notice.js';
import { historyLoaded, state } from './state.js';
import { onReadMarker, onTyping, onUnread, stopShowing } from './read-state.js';
import { scheduleRefresh } from './token-refresh.js';

export const handlers = {
  Welcome: onWelcome,
  Refreshed: (c) => scheduleRefresh(c.expiresAt),
  MemberList: onMemberList,
  JoinedRoom: onJoinedRoom,
  LeftRoom: onLeftRoom,
  NewMessage: (c) => { addMessages(c.chat, [c], true); stopShowing(c); },
  MessageEdited: onMessageEdited,
  MessageDeleted: onMessageDeleted,
  Reaction: onReaction,
  NewMessageReceived: (c) => announce(typeof c === 'string' ? c : String(c.content ?? '')),
  Ping: (c) => announce(`Ping ${JSON.stringify(c)}`),
  Online: (c) => setOnline(c.user, true),
  Offline: (c) => setOnline(c.user, false),
  // typing and read state: read-state.js
  Typing: (c) => onTyping(c, false),
  StopTyping: (c) => onTyping(c, true),
  Unread: onUnread,
  ReadMarker: onReadMarker,
  Error: onErrorFrame,
};

// After every (re)connect: the SDK has resumed our chats and resent what
// was unanswered; ask again for what only the open view needs.
function onWelcome(c) {
  state.me = { user: c.user, name: c.name };
  state.device = c.device || null;
  $('me').textContent = c.name;
  scheduleRefresh(c.expiresAt);
  if (state.current) {
    if (!historyLoaded(state.current)) requestHistory(state.current);
    send('chat-room', 'GetMembers', { chat: state.current });
    renderMessages('keep');
  }
  loadChats().catch(() => {});
}

function onErrorFrame(c) {
  // A resumed chat we left meanwhile (on another device): the chat list
  // reloaded after Welcome drops it; nothing to tell the user.
  if (c.type === 'Resume' && (c.code === 'not_member' || c.code === 'chat_not_found')) return;
  showNotice(c.code, c.message);
}
