// Keeping the session alive: a connection lives only as long as its
// token (Welcome and Refreshed say until when), so before that moment we
// trade the token for a newer one (POST /api/sessions/refresh), keep it
// for the next reload and reconnect, and hand it to the open connection
// (a Refresh frame). The user types a password once per login, not once
// per token lifetime.
// Not for: the socket (connection.js) or what ending the session does
// (session.js).

import { api, SESSION_EXPIRED } from './api.js';
import { client } from './connection.js';
import { state, TOKEN_KEY } from './state.js';

const MAX_TIMER = 2 ** 31 - 1; // setTimeout's longest delay, ~24.8 days
const RETRY = 30 * 1000;

let timer = null;
let onEnd = () => {};

// setRefreshEnd sets what ends the session when the token cannot be
// refreshed (it was refused, not merely unreachable).
export function setRefreshEnd(end) { onEnd = end; }

// scheduleRefresh plans the refresh for a connection whose token expires
// at expiresAt (an RFC 3339 string; absent for a guest): when four fifths
// of the time left have passed, so a sleeping laptop that wakes late
// still has a margin.
export function scheduleRefresh(expiresAt) {
  clearTimeout(timer);
  timer = null;
  if (!expiresAt) return;
  const left = Date.parse(expiresAt) - Date.now();
  if (Number.isNaN(left)) return;
  const delay = Math.min(MAX_TIMER, Math.max(1000, left * 0.8));
  timer = setTimeout(refresh, delay);
}

// stopRefresh forgets the plan (on logout).
export function stopRefresh() {
  clearTimeout(timer);
  timer = null;
}

async function refresh() {
  timer = null;
  let res;
  try {
    res = await api('POST', '/api/sessions/refresh');
  } catch (err) {
    if (err.status === 401) return onEnd(SESSION_EXPIRED);
    timer = setTimeout(refresh, RETRY); // unreachable or unavailable: try again
    return;
  }
  if (!state.token) return; // logged out meanwhile
  state.token = res.token;
  localStorage.setItem(TOKEN_KEY, res.token);
  // The connection answers Refreshed, which plans the next refresh
  // (frames.js); the SDK hands the token over once connected, and uses it
  // for every reconnect.
  const c = client();
  if (c) c.refresh(res.token).catch(() => scheduleRefresh(res.expiresAt));
  else scheduleRefresh(res.expiresAt);
}
