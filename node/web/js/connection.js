// The connection, through the natter client SDK (/js/natter/, the
// natter-client npm package): it connects with the token as a subprotocol,
// reconnects with backoff and jitter, resumes every chat we hold messages
// of, resends unacknowledged sends and drops duplicates. This module
// makes one client per login, shows its state in #status (with the
// reconnect countdown), reconnects at once when the browser's network
// comes back, and ends the session when the server says the token is no
// good.
// Not for: what incoming frames mean (frames.js) or what ending the
// session does (session.js); both come in through setConnectionHooks.

import { $ } from './dom.js';
import { api, SESSION_EXPIRED } from './api.js';
import { showNotice } from './notice.js';
import { NatterClient } from './natter/natter.js';
import { state } from './state.js';

const conn = {
  client: null,
  wentOffline: false, // the browser lost the network while connected
  countdownTimer: null,
};

const hooks = { handlers: {}, end: () => {} };

// setConnectionHooks sets the frame handlers ({Type: fn(contents)}) and
// what ends the session (called with the reason to show on the login form).
export function setConnectionHooks(handlers, onEnd) {
  hooks.handlers = handlers;
  hooks.end = onEnd;
}

// client is the current login's NatterClient (null when logged out).
export function client() {
  return conn.client;
}

// connect makes the login's client and connects it.
export function connect() {
  disconnect();
  const c = new NatterClient({
    url: () => `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/ws`,
    token: () => state.token,
  });
  conn.client = c;
  for (const [type, fn] of Object.entries(hooks.handlers)) c.on(type, fn);
  c.on('state', (s) => {
    clearInterval(conn.countdownTimer);
    if (s === 'open') setStatus('connected', 'connected');
    else if (s === 'connecting') setStatus('connecting', 'connecting');
    else if (s === 'closed') setStatus('offline', 'offline');
  });
  c.on('reconnecting', ({ delay }) => countdown(delay));
  c.on('disconnect', ({ code, wasOpen }) => {
    if (code === 1008) return end(c, 'Disconnected by the server.'); // a policy violation
    // A refused handshake (e.g. HTTP 401) surfaces only as a close before
    // the open; ask the API whether the token is still good.
    if (!wasOpen) checkToken();
  });
  // 4003: the token expired or was revoked.
  c.on('close', () => end(c, SESSION_EXPIRED));
  c.connect().catch(() => {}); // a close ends the session through the close event
}

// end ends the session once, for client c (not a later login's).
function end(c, reason) {
  if (conn.client !== c) return;
  conn.client = null;
  c.close();
  hooks.end(reason);
}

function countdown(delay) {
  clearInterval(conn.countdownTimer);
  const until = Date.now() + delay;
  const tick = () => {
    const secs = Math.max(1, Math.ceil((until - Date.now()) / 1000));
    setStatus('reconnecting', `reconnecting in ${secs}s`);
  };
  tick();
  conn.countdownTimer = setInterval(tick, 250);
}

// The browser's own network events: after an outage the old socket may
// be dead without knowing it, so reconnect (and resume) at once.
export function onBrowserOnline() {
  const c = conn.client;
  if (!c || $('app-view').hidden) return;
  if (c.state === 'open' && !conn.wentOffline) return;
  conn.wentOffline = false;
  c.reconnect();
}

export function onBrowserOffline() {
  if (!conn.client) return;
  conn.wentOffline = true; // reconnect when the network is back
  clearInterval(conn.countdownTimer);
  setStatus('offline', 'offline: no network');
}

// disconnect closes the connection for good (on logout).
export function disconnect() {
  clearInterval(conn.countdownTimer);
  const c = conn.client;
  conn.client = null;
  conn.wentOffline = false;
  if (c) c.close('bye');
  setStatus('offline', 'offline');
}

async function checkToken() {
  try {
    await api('GET', '/api/me');
  } catch (err) {
    if (err.status === 401 && state.token) hooks.end(SESSION_EXPIRED);
  }
}

function setStatus(kind, text) {
  const status = $('status');
  status.dataset.state = kind;
  status.textContent = text;
}

// send sends one frame that needs no answer; false if not connected.
export function send(channel, type, contents) {
  return Boolean(conn.client && conn.client.sendFrame(channel, type, contents));
}

// onRequestError shows what the client itself reports about a request
// (no answer in time); the server's refusals arrive as Error frames,
// which frames.js shows.
export function onRequestError(err) {
  if (err && err.code === 'timeout') showNotice('timeout', 'The server did not answer. Try again in a moment.');
}
