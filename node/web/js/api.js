// HTTP API client: one fetch wrapper that sends JSON with the bearer token
// and turns every failure into an Error with .status (0 when the server
// cannot be reached) and .code, from the API's {error: {code, message}}.
// Not for: deciding what a failure means (a 401 logs out only where the
// caller says so), nor the WebSocket (connection.js).

import { state } from './state.js';

export const SESSION_EXPIRED = 'Your session has expired. Please log in again.';

export async function api(method, path, body) {
  const headers = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (state.token) headers.Authorization = 'Bearer ' + state.token;
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (_) {
    throw apiError('Cannot reach the server. Check your connection and try again.', 0, 'network');
  }
  let data = null;
  try { data = await res.json(); } catch (_) { data = null; }
  if (!res.ok) {
    const e = (data && data.error) || {};
    throw apiError(e.message || `request failed (${res.status})`, res.status, e.code || 'http_' + res.status);
  }
  return data;
}

function apiError(message, status, code) {
  const err = new Error(message);
  err.status = status;
  err.code = code;
  return err;
}
