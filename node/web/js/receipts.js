// Read receipts in direct chats: our own messages the other member has
// read show "seen". The other member's read marker comes with the chat
// (GET /api/chats/{id}/reads when it is opened) and then with every
// ReadMarker it sends (in direct chats every member's devices get them).
// Not for: our own read state and the unread badges (read-state.js).

import { api } from './api.js';
import { renderMessages } from './message-list.js';
import { state } from './state.js';

const isDirect = (chat) => (state.chats.get(chat) || {}).kind === 'direct';

// seenBy records that another member read chat up to seq, and redraws the
// open chat when that marks more of our messages seen.
export function seenBy(chat, seq) {
  if (!isDirect(chat) || seq <= (state.seen.get(chat) || 0)) return;
  state.seen.set(chat, seq);
  if (chat === state.current) renderMessages('keep');
}

// loadReceipts reads the other member's marker of a direct chat that is
// opened; a failure leaves the ticks to the next ReadMarker.
export async function loadReceipts(chat) {
  if (!isDirect(chat) || !state.me) return;
  try {
    const r = await api('GET', `/api/chats/${encodeURIComponent(chat)}/reads`);
    for (const m of r.reads || []) if (m.user !== state.me.user) seenBy(chat, m.seq);
  } catch (_) {
    // Not fatal: the ticks come with the other member's next ReadMarker.
  }
}
