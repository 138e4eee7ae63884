// Incoming WebSocket frames: parse {channel, message: {type, contents}}
// and dispatch on channel/type, one handler per pair; plus the handling
// of Welcome (after every (re)connect), Refreshed, Resumed and Error
// frames.
// Not for: the socket itself (connection.js); handlers live with the
// state they change (chats.js, messages.js, history.js, members.js).

import { $ } from './dom.js';
import { loadChats, onJoinedRoom, onLeftRoom } from './chats.js';
import { connected, send } from './connection.js';
import { onMessageDeleted, onMessageEdited, onReaction } from './edits.js';
import { forgetRequests, onHistoryPage, requestHistory } from './history.js';
import { onMemberList, setOnline } from './members.js';
import { renderMessages } from './message-list.js';
import { addMessages, onAccepted, resendPending, sendFailed } from './messages.js';
import { announce, showNotice } from './notice.js';
import { historyLoaded, state } from './state.js';
import { onReadMarker, onTyping, onUnread, stopShowing } from './read-state.js';
import { scheduleRefresh } from './token-refresh.js';

const handlers = {
  'session/Welcome': onWelcome,
  'session/Refreshed': (c) => scheduleRefresh(c.expiresAt),
  'chat-room/MemberList': onMemberList,
  'chat-room/JoinedRoom': onJoinedRoom,
  'chat-room/LeftRoom': onLeftRoom,
  'chat-room/NewMessage': (c) => { addMessages(c.chat, [c], true); stopShowing(c); },
  'chat-room/MessageAccepted': onAccepted,
  'chat-room/HistoryPage': onHistoryPage,
  'chat-room/Resumed': onResumed,
  'chat-room/MessageEdited': onMessageEdited,
  'chat-room/MessageDeleted': onMessageDeleted,
  'chat-room/Reaction': onReaction,
  'chat/NewMessageReceived': (c) => announce(typeof c === 'string' ? c : String(c.content ?? '')),
  'ping/Ping': (c) => announce(`Ping ${JSON.stringify(c)}`),
  'presence/Online': (c) => setOnline(c.user, true),
  'presence/Offline': (c) => setOnline(c.user, false),
  // typing and read state: read-state.js
  'chat-room/Typing': (c) => onTyping(c, false),
  'chat-room/StopTyping': (c) => onTyping(c, true),
  'chat-room/Unread': onUnread,
  'chat-room/ReadMarker': onReadMarker,
};

// onFrame handles the text of one frame; unknown or malformed frames are ignored.
export function onFrame(data) {
  let frame;
  try { frame = JSON.parse(data); } catch (_) { return; }
  const msg = (frame && frame.message) || {};
  const contents = msg.contents == null ? {} : msg.contents;
  if (msg.type === 'Error') return onErrorFrame(contents);
  const handler = handlers[`${frame.channel}/${msg.type}`];
  if (handler) handler(contents);
}

// After every (re)connect: the chats resumed in the URL replay on their
// own (see connection.js); ask again for what died with the old socket
// and resend unacknowledged messages.
function onWelcome(c) {
  state.me = { user: c.user, name: c.name };
  state.device = c.device || null;
  $('me').textContent = c.name;
  connected();
  scheduleRefresh(c.expiresAt);
  forgetRequests();
  if (state.current) {
    if (!historyLoaded(state.current)) requestHistory(state.current);
    send('chat-room', 'GetMembers', { chat: state.current });
  }
  resendPending();
  if (state.current) renderMessages('keep');
  loadChats().catch(() => {});
}

function onResumed(c) {
  if (c.more) send('chat-room', 'Resume', { chat: c.chat, afterSeq: state.lastSeq.get(c.chat) || c.lastSeq });
}

function onErrorFrame(c) {
  // A resumed chat we left meanwhile (on another device): the chat list
  // reloaded after Welcome drops it; nothing to tell the user.
  if (c.type === 'Resume' && (c.code === 'not_member' || c.code === 'chat_not_found')) return;
  showNotice(c.code, c.message);
  if (c.type === 'SendMessage' && c.ref) sendFailed(c.ref);
  if (c.type === 'History') forgetRequests();
  if (c.type === 'JoinRoom') state.pendingJoin = null;
}
