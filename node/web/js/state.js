// Client state shared by the modules: who we are, the chat list, and per
// chat its messages (keyed by seq), history paging, members, plus
// presence and unacknowledged sends (as shown; the SDK resends them).
// Messages are keyed by seq (the server's total order within a chat),
// which is what makes history, live delivery and resume merge without
// duplicates.
// Not for: the DOM, HTTP or the connection; resuming (each chat's last
// seq) and resending are the SDK's (connection.js).

export const TOKEN_KEY = 'natter.token';
export const ROOM_KEY = 'natter.room';
export const PAGE_SIZE = 50;

export const state = {
  token: localStorage.getItem(TOKEN_KEY),
  me: null, // {user, name}
  device: null, // this connection's device id (from Welcome)
  chats: new Map(), // chat id -> {id, name, kind, unread}
  current: null, // open chat id
  messages: new Map(), // chat id -> Map(seq -> message)
  paging: new Map(), // chat id -> {loading, loaded, done}
  members: new Map(), // chat id -> Map(user id -> {user, name, role, online})
  seen: new Map(), // direct chat id -> the newest seq the other member has read (receipts.js)
  online: new Set(), // user ids known to be online
  pending: new Map(), // clientMsgId -> {chat, text, failed}
  replyTo: null, // seq the next message answers (edits.js)
};

// The maps that hold something per chat id.
const PER_CHAT = ['messages', 'paging', 'members', 'seen'];

// clearState forgets everything about the session (on logout).
export function clearState() {
  state.token = null;
  state.me = null;
  state.device = null;
  state.current = null;
  for (const key of ['chats', ...PER_CHAT, 'pending']) state[key].clear();
  state.online.clear();
}

// dropChat forgets one chat: its entry, its messages and its pending sends.
export function dropChat(id) {
  state.chats.delete(id);
  for (const key of PER_CHAT) state[key].delete(id);
  for (const [cid, p] of state.pending) if (p.chat === id) state.pending.delete(cid);
}

// historyLoaded reports whether the newest history page of chat arrived.
export function historyLoaded(chat) {
  return Boolean((state.paging.get(chat) || {}).loaded);
}

// store returns chat's messages by seq, creating the map on first use.
export function store(chat) {
  if (!state.messages.has(chat)) state.messages.set(chat, new Map());
  return state.messages.get(chat);
}

// Returns true if the message is new. seq is the key: it is the same on
// every device, whichever way the message arrived (a history page may
// overlap live delivery).
export function remember(chat, m) {
  const bySeq = store(chat);
  if (bySeq.has(m.seq)) return false;
  bySeq.set(m.seq, m);
  return true;
}

export const isMine = (m) => Boolean(state.me && m.user === state.me.user);
