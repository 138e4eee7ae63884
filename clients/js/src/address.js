// Naming chats in frames, and telling which answer is whose: a request
// names its chat by id or, for a public room, by name; natter's answers
// carry both, so an answer is matched to the request about its chat.
// Not for: the order of answers (requests.js).

/** address turns a chat id, {chat} or {room} into the frame's addressing fields. */
export function address(target) {
  if (typeof target === 'string' && target) return { chat: target };
  if (target && typeof target.chat === 'string' && target.chat) return { chat: target.chat };
  if (target && typeof target.room === 'string' && target.room) return { room: target.room };
  throw new TypeError('natter: name a chat by its id (a string or {chat}) or a public room by {room}');
}

// matches says whether a frame about a chat is about addr's. A room's
// name is compared ignoring case too, in case the server answers with
// the room's stored spelling.
export function matches(addr, c) {
  if (addr.chat) return c.chat === addr.chat;
  return typeof c.room === 'string' && (c.room === addr.room || c.room.toLowerCase() === addr.room.toLowerCase());
}

// answerFor is the answer handler of a request whose answer is any frame
// about addr's chat.
export function answerFor(addr) {
  return (c, req) => matches(addr, c) && finish(c, req);
}

// finish completes req with c; true, for the answer handlers.
export function finish(c, req) {
  req.done(c);
  return true;
}

// bySeq says whether c is about message seq of addr's chat.
export function bySeq(addr, seq, c) {
  return matches(addr, c) && c.seq === seq;
}
