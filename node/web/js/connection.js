// The WebSocket connection: open it with the token as a subprotocol
// (browsers cannot set headers) and every chat we hold messages of in the
// resume list, reconnect with exponential backoff (0.5 s .. 10 s, jitter),
// reconnect at once when the browser's network comes back, show the state
// in #status, and send frames.
// Resuming in the URL makes the server hold a chat's live delivery until
// the replay of what we missed is done: one ordered sequence with no gap
// (and no duplicate).
// Not for: what incoming frames mean (frames.js) or what ending the
// session does (session.js); both come in through setConnectionHooks.

import { $ } from './dom.js';
import { api, SESSION_EXPIRED } from './api.js';
import { showNotice } from './notice.js';
import { historyLoaded, state } from './state.js';

const MAX_RESUME = 1000; // the server's limit of chats in ?resume=

const conn = {
  ws: null,
  wentOffline: false, // the browser lost the network while connected
  attempt: 0, // reconnects since the last Welcome
  reconnectTimer: null,
  countdownTimer: null,
};

const hooks = { frame: () => {}, end: () => {} };

// setConnectionHooks sets what handles a frame's text and what ends the
// session (called with the reason to show on the login form).
export function setConnectionHooks(onFrame, onEnd) {
  hooks.frame = onFrame;
  hooks.end = onEnd;
}

export function connect() {
  clearTimeout(conn.reconnectTimer);
  clearInterval(conn.countdownTimer);
  let sock;
  try {
    sock = new WebSocket(socketURL(), ['natter', 'token.' + state.token]);
  } catch (_) {
    return hooks.end('Your session is invalid. Please log in again.');
  }
  let opened = false;
  conn.ws = sock;
  setStatus('connecting', 'connecting');
  sock.addEventListener('open', () => { opened = true; });
  sock.addEventListener('message', (ev) => { if (conn.ws === sock) hooks.frame(ev.data); });
  sock.addEventListener('close', (ev) => { if (conn.ws === sock) onClose(opened, ev); });
}

function socketURL() {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const resume = resumeList();
  const query = resume.length ? '?resume=' + encodeURIComponent(resume.join(',')) : '';
  return `${scheme}//${location.host}/ws${query}`;
}

// chat:afterSeq for every chat whose messages we hold (from history or
// live delivery); at most the server's limit.
function resumeList() {
  const out = [];
  for (const id of state.chats.keys()) {
    if (out.length >= MAX_RESUME) break;
    const seq = state.lastSeq.get(id);
    if (seq !== undefined || historyLoaded(id)) out.push(`${id}:${seq || 0}`);
  }
  return out;
}

// connected is called on Welcome: the backoff starts over.
export function connected() {
  conn.attempt = 0;
  clearInterval(conn.countdownTimer);
  setStatus('connected', 'connected');
}

// The browser's own network events: after an outage the old socket may
// be dead without knowing it, so reconnect (and resume) at once.
export function onBrowserOnline() {
  if (!state.token || $('app-view').hidden) return;
  const sock = conn.ws;
  const open = sock && sock.readyState === WebSocket.OPEN;
  if (open && !conn.wentOffline) return;
  conn.wentOffline = false;
  conn.attempt = 0;
  if (sock) {
    conn.ws = null;
    sock.close(1000, 'network changed');
  }
  connect();
}

export function onBrowserOffline() {
  if (!state.token) return;
  conn.wentOffline = true; // reconnect when the network is back
  setStatus('offline', 'offline: no network');
}

// disconnect closes the socket for good (on logout) and forgets the backoff.
export function disconnect() {
  clearTimeout(conn.reconnectTimer);
  clearInterval(conn.countdownTimer);
  const sock = conn.ws;
  conn.ws = null;
  conn.wentOffline = false;
  conn.attempt = 0;
  if (sock) sock.close(1000, 'bye');
  setStatus('offline', 'offline');
}

function onClose(opened, ev) {
  conn.ws = null;
  if (ev.code === 4003 || ev.code === 1008) {
    return hooks.end(ev.code === 4003 ? SESSION_EXPIRED : 'Disconnected by the server.');
  }
  // A refused handshake (e.g. HTTP 401) surfaces only as 1006; check the token.
  if (!opened) checkToken();
  scheduleReconnect();
}

async function checkToken() {
  try {
    await api('GET', '/api/me');
  } catch (err) {
    if (err.status === 401 && state.token) hooks.end(SESSION_EXPIRED);
  }
}

function scheduleReconnect() {
  const base = Math.min(10000, 500 * 2 ** conn.attempt);
  const delay = Math.round(base / 2 + Math.random() * base / 2);
  conn.attempt++;
  const until = Date.now() + delay;
  const tick = () => {
    const secs = Math.max(1, Math.ceil((until - Date.now()) / 1000));
    setStatus('reconnecting', `reconnecting in ${secs}s`);
  };
  tick();
  conn.countdownTimer = setInterval(tick, 250);
  conn.reconnectTimer = setTimeout(() => { if (state.token) connect(); }, delay);
}

function setStatus(kind, text) {
  const status = $('status');
  status.dataset.state = kind;
  status.textContent = text;
}

// send sends one frame; false if the socket is not open.
export function send(channel, type, contents) {
  const sock = conn.ws;
  if (!sock || sock.readyState !== WebSocket.OPEN) return false;
  sock.send(JSON.stringify({ channel, message: { type, contents } }));
  return true;
}

// sendRoom sends on the chat-room channel and tells the user if it could not.
export function sendRoom(type, contents) {
  if (!send('chat-room', type, contents)) showNotice('offline', 'Not connected; try again in a moment.');
}
