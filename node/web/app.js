// natter browser client: login, rooms, messages, members, reconnect + resume.
// Plain DOM, no framework. All user text goes through textContent, never innerHTML.
'use strict';

(() => {
  // DOM helpers. One place to look elements up and build nodes safely, so no
  // user-controlled string is ever parsed as HTML.
  const $ = (id) => document.getElementById(id);

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  const TOKEN_KEY = 'natter.token';
  const ROOM_KEY = 'natter.room';
  const PAGE_SIZE = 50;

  // State. Messages are stored per chat keyed by seq (the server's total order
  // within a chat), which is what makes history, live delivery and resume
  // merge without duplicates.
  const state = {
    token: localStorage.getItem(TOKEN_KEY),
    me: null, // {user, name}
    chats: new Map(), // chat id -> {id, name, kind, unread}
    current: null, // open chat id
    messages: new Map(), // chat id -> Map(seq -> message)
    lastSeq: new Map(), // chat id -> highest seq seen (for Resume)
    paging: new Map(), // chat id -> {loading, loaded, done}
    members: new Map(), // chat id -> Map(user id -> {user, name, role, online})
    online: new Set(), // user ids known to be online
    pending: new Map(), // clientMsgId -> {chat, text, failed}
    pendingJoin: null, // lower-cased room name we asked to join, to open it
    ws: null,
    device: null, // this connection's device id (from Welcome)
    wentOffline: false, // the browser lost the network while connected
    attempt: 0,
    reconnectTimer: null,
    countdownTimer: null,
  };

  // HTTP API. Every error has the shape {error: {code, message}}; we surface
  // the message and keep the status so callers can react to 401.
  async function api(method, path, body) {
    const headers = {};
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (state.token) headers.Authorization = 'Bearer ' + state.token;
    let res;
    try {
      res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (_) {
      const err = new Error('Cannot reach the server. Check your connection and try again.');
      err.status = 0;
      err.code = 'network';
      throw err;
    }
    let data = null;
    try { data = await res.json(); } catch (_) { data = null; }
    if (!res.ok) {
      const e = (data && data.error) || {};
      const err = new Error(e.message || `request failed (${res.status})`);
      err.status = res.status;
      err.code = e.code || 'http_' + res.status;
      throw err;
    }
    return data;
  }

  // Authentication. The token lives in localStorage so a reload stays logged
  // in; any 401 or a 4003/1008 close sends the user back to the form.
  function showAuthError(msg) {
    const box = $('auth-error');
    box.textContent = msg ? msg.charAt(0).toUpperCase() + msg.slice(1) : '';
    box.hidden = !msg;
  }

  async function authenticate(path) {
    const name = $('name').value.trim();
    const password = $('password').value;
    if (!name || !password) return showAuthError('Enter a name and a password.');
    showAuthError('');
    setAuthBusy(true);
    try {
      const res = await api('POST', path, { name, password });
      state.token = res.token;
      state.me = { user: res.user, name: res.name };
      localStorage.setItem(TOKEN_KEY, res.token);
      $('password').value = '';
      await enterApp();
    } catch (err) {
      showAuthError(err.message);
    } finally {
      setAuthBusy(false);
    }
  }

  function setAuthBusy(busy) {
    $('login').disabled = $('register').disabled = busy;
  }

  function logout(reason) {
    disconnect();
    localStorage.removeItem(TOKEN_KEY);
    localStorage.removeItem(ROOM_KEY);
    resetState();
    $('app-view').hidden = true;
    $('auth-view').hidden = false;
    showAuthError(reason || '');
    $('name').focus();
  }

  function resetState() {
    state.token = null;
    state.me = null;
    state.device = null;
    state.wentOffline = false;
    state.current = null;
    state.pendingJoin = null;
    state.attempt = 0;
    for (const key of ['chats', 'messages', 'lastSeq', 'paging', 'members', 'pending']) state[key].clear();
    state.online.clear();
    $('rooms').replaceChildren();
    $('messages').replaceChildren();
    $('members').replaceChildren();
    $('announcements').replaceChildren();
    $('announcements-bar').hidden = true;
    hideNotice();
    renderRoomHeader();
  }

  // Validates the token, loads the chat list and opens the socket.
  async function enterApp() {
    $('auth-view').hidden = true;
    $('app-view').hidden = false;
    try {
      const me = await api('GET', '/api/me');
      state.me = { user: me.user, name: me.name };
      $('me').textContent = me.name;
      await loadChats();
    } catch (err) {
      if (err.status === 401) return logout('Your session has expired. Please log in again.');
      showNotice(err.code, err.message);
    }
    connect();
    const saved = localStorage.getItem(ROOM_KEY);
    if (saved && state.chats.has(saved) && !state.current) openChat(saved);
  }

  // WebSocket connection with exponential backoff (0.5 s .. 10 s, jitter).
  // The token travels as a subprotocol because browsers cannot set headers.
  // Every chat we hold messages of is resumed in the URL, so the server
  // holds its live delivery until the replay of what we missed is done:
  // one ordered sequence with no gap (and no duplicate).
  function connect() {
    clearTimeout(state.reconnectTimer);
    clearInterval(state.countdownTimer);
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const resume = resumeList();
    const query = resume.length ? '?resume=' + encodeURIComponent(resume.join(',')) : '';
    let sock;
    try {
      sock = new WebSocket(`${scheme}//${location.host}/ws${query}`, ['natter', 'token.' + state.token]);
    } catch (_) {
      return logout('Your session is invalid. Please log in again.');
    }
    let opened = false;
    state.ws = sock;
    setStatus('connecting', 'connecting');
    sock.addEventListener('open', () => { opened = true; });
    sock.addEventListener('message', (ev) => { if (state.ws === sock) onFrame(ev.data); });
    sock.addEventListener('close', (ev) => { if (state.ws === sock) onClose(opened, ev); });
  }

  // chat:afterSeq for every chat whose messages we hold (from history or
  // live delivery); at most the server's limit of 1000.
  function resumeList() {
    const out = [];
    for (const id of state.chats.keys()) {
      if (out.length >= 1000) break;
      const seq = state.lastSeq.get(id);
      if (seq !== undefined || (state.paging.get(id) || {}).loaded) out.push(`${id}:${seq || 0}`);
    }
    return out;
  }

  // The browser's own network events: after an outage the old socket may
  // be dead without knowing it, so reconnect (and resume) at once.
  function onBrowserOnline() {
    if (!state.token || $('app-view').hidden) return;
    const sock = state.ws;
    const open = sock && sock.readyState === WebSocket.OPEN;
    if (open && !state.wentOffline) return;
    state.wentOffline = false;
    state.attempt = 0;
    if (sock) {
      state.ws = null;
      sock.close(1000, 'network changed');
    }
    connect();
  }

  function onBrowserOffline() {
    if (!state.token) return;
    state.wentOffline = true; // reconnect when the network is back
    setStatus('offline', 'offline: no network');
  }

  function disconnect() {
    clearTimeout(state.reconnectTimer);
    clearInterval(state.countdownTimer);
    const sock = state.ws;
    state.ws = null;
    if (sock) sock.close(1000, 'bye');
    setStatus('offline', 'offline');
  }

  function onClose(opened, ev) {
    state.ws = null;
    if (ev.code === 4003 || ev.code === 1008) {
      return logout(ev.code === 4003 ? 'Your session has expired. Please log in again.' : 'Disconnected by the server.');
    }
    // A refused handshake (e.g. HTTP 401) surfaces only as 1006; check the token.
    if (!opened) checkToken();
    scheduleReconnect();
  }

  async function checkToken() {
    try {
      await api('GET', '/api/me');
    } catch (err) {
      if (err.status === 401 && state.token) logout('Your session has expired. Please log in again.');
    }
  }

  function scheduleReconnect() {
    const base = Math.min(10000, 500 * 2 ** state.attempt);
    const delay = Math.round(base / 2 + Math.random() * base / 2);
    state.attempt++;
    const until = Date.now() + delay;
    const tick = () => {
      const secs = Math.max(1, Math.ceil((until - Date.now()) / 1000));
      setStatus('reconnecting', `reconnecting in ${secs}s`);
    };
    tick();
    state.countdownTimer = setInterval(tick, 250);
    state.reconnectTimer = setTimeout(() => { if (state.token) connect(); }, delay);
  }

  function setStatus(kind, text) {
    const status = $('status');
    status.dataset.state = kind;
    status.textContent = text;
  }

  function send(channel, type, contents) {
    const sock = state.ws;
    if (!sock || sock.readyState !== WebSocket.OPEN) return false;
    sock.send(JSON.stringify({ channel, message: { type, contents } }));
    return true;
  }

  function sendRoom(type, contents) {
    if (!send('chat-room', type, contents)) showNotice('offline', 'Not connected; try again in a moment.');
  }

  // Frame dispatch: one handler per channel/type pair.
  const handlers = {
    'session/Welcome': onWelcome,
    'chat-room/MemberList': onMemberList,
    'chat-room/JoinedRoom': onJoinedRoom,
    'chat-room/LeftRoom': onLeftRoom,
    'chat-room/NewMessage': (c) => addMessages(c.chat, [c], true),
    'chat-room/MessageAccepted': onAccepted,
    'chat-room/HistoryPage': onHistoryPage,
    'chat-room/Resumed': onResumed,
    'chat/NewMessageReceived': (c) => announce(typeof c === 'string' ? c : String(c.content ?? '')),
    'ping/Ping': (c) => announce(`Ping ${JSON.stringify(c)}`),
    'presence/Online': (c) => setOnline(c.user, true),
    'presence/Offline': (c) => setOnline(c.user, false),
  };

  function onFrame(data) {
    let frame;
    try { frame = JSON.parse(data); } catch (_) { return; }
    const msg = (frame && frame.message) || {};
    const contents = msg.contents == null ? {} : msg.contents;
    if (msg.type === 'Error') return onErrorFrame(contents);
    const handler = handlers[`${frame.channel}/${msg.type}`];
    if (handler) handler(contents);
  }

  // After every (re)connect: resume each chat from the highest seq we saw, so
  // missed messages arrive in order, and resend unacknowledged messages (the
  // same clientMsgId makes that idempotent on the server).
  function onWelcome(c) {
    state.attempt = 0;
    clearInterval(state.countdownTimer);
    state.me = { user: c.user, name: c.name };
    state.device = c.device || null;
    $('me').textContent = c.name;
    setStatus('connected', 'connected');
    // The chats resumed in the URL replay on their own (see connect).
    for (const p of state.paging.values()) p.loading = false; // requests died with the old socket
    if (state.current) {
      if (!(state.paging.get(state.current) || {}).loaded) requestHistory(state.current);
      send('chat-room', 'GetMembers', { chat: state.current });
    }
    for (const [clientMsgId, p] of state.pending) {
      p.failed = false;
      send('chat-room', 'SendMessage', { chat: p.chat, message: p.text, clientMsgId });
    }
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
    if (c.type === 'SendMessage' && c.ref && state.pending.has(c.ref)) {
      state.pending.get(c.ref).failed = true;
      if (state.current === state.pending.get(c.ref).chat) renderMessages('keep');
    }
    if (c.type === 'History') for (const p of state.paging.values()) p.loading = false;
    if (c.type === 'JoinRoom') state.pendingJoin = null;
  }

  // Chats (room list). The list comes from GET /api/chats and is kept current
  // by JoinedRoom/LeftRoom frames about ourselves.
  async function loadChats() {
    const before = new Set(state.chats.keys()); // chats added meanwhile are kept
    const res = await api('GET', '/api/chats');
    const fresh = new Set();
    for (const c of res.chats || []) {
      fresh.add(c.id);
      const old = state.chats.get(c.id);
      state.chats.set(c.id, { id: c.id, name: c.name, kind: c.kind, unread: old ? old.unread : 0 });
    }
    for (const id of before) if (!fresh.has(id) && state.chats.has(id)) forgetChat(id);
    renderRooms();
  }

  function ensureChat(id, name, kind) {
    if (!state.chats.has(id)) {
      state.chats.set(id, { id, name: name || '', kind: kind || 'public', unread: 0 });
      renderRooms();
    }
    return state.chats.get(id);
  }

  function forgetChat(id) {
    state.chats.delete(id);
    for (const key of ['messages', 'lastSeq', 'paging', 'members']) state[key].delete(id);
    for (const [cid, p] of state.pending) if (p.chat === id) state.pending.delete(cid);
    if (state.current === id) openChat(null);
    renderRooms();
  }

  function renderRooms() {
    const list = $('rooms');
    list.replaceChildren();
    for (const chat of state.chats.values()) {
      const li = el('li');
      li.dataset.chatId = chat.id;
      li.dataset.kind = chat.kind;
      if (chat.unread) li.dataset.unread = String(chat.unread);
      const label = chat.name || '(direct chat)';
      const btn = el('button', '', label);
      btn.type = 'button';
      btn.title = label;
      if (chat.id === state.current) {
        li.classList.add('active');
        btn.setAttribute('aria-current', 'true');
      }
      li.append(btn);
      list.append(li);
    }
  }

  // Opens a chat: shows what we already have, then asks for the newest page
  // and the member list.
  function openChat(id) {
    state.current = id;
    if (id) {
      localStorage.setItem(ROOM_KEY, id);
      state.chats.get(id).unread = 0;
      if (!(state.paging.get(id) || {}).loaded) requestHistory(id);
      send('chat-room', 'GetMembers', { chat: id });
    } else {
      localStorage.removeItem(ROOM_KEY);
    }
    renderRooms();
    renderRoomHeader();
    renderMessages('bottom');
    renderMembers();
    if (id) $('message-input').focus();
  }

  function renderRoomHeader() {
    const chat = state.current && state.chats.get(state.current);
    $('room-title').textContent = chat ? chat.name || '(direct chat)' : 'No room open';
    $('leave-room').hidden = !chat;
    $('message-input').disabled = !chat;
    $('send').disabled = !chat;
  }

  function joinRoom(name) {
    if (!name) return;
    const known = [...state.chats.values()].find((c) => c.kind === 'public' && c.name.toLowerCase() === name.toLowerCase());
    if (known) return openChat(known.id);
    state.pendingJoin = name.toLowerCase();
    sendRoom('JoinRoom', { room: name });
  }

  async function createPrivate(name) {
    if (!name) return;
    try {
      const chat = await api('POST', '/api/chats', { name, kind: 'private' });
      ensureChat(chat.id, chat.name, chat.kind);
      openChat(chat.id);
      $('private-name').value = '';
    } catch (err) {
      if (err.status === 401) return logout('Your session has expired. Please log in again.');
      showNotice(err.code, err.message);
    }
  }

  function onJoinedRoom(c) {
    const isMe = state.me && c.user === state.me.user;
    if (isMe) {
      ensureChat(c.chat, c.room);
      // The server may normalise the name, so any join of ours while one is pending opens it.
      if (state.pendingJoin) {
        state.pendingJoin = null;
        $('room-name').value = '';
        openChat(c.chat);
      }
    }
    const members = state.members.get(c.chat);
    if (members && !members.has(c.user)) {
      state.online.add(c.user); // a join comes from a connected device
      members.set(c.user, { user: c.user, name: c.name || c.user, role: 'member', online: true });
      if (c.chat === state.current) renderMembers();
    }
  }

  function onLeftRoom(c) {
    if (state.me && c.user === state.me.user) return forgetChat(c.chat);
    const members = state.members.get(c.chat);
    if (members && members.delete(c.user) && c.chat === state.current) renderMembers();
  }

  // Messages. addMessages merges frames from History, Resume and live delivery
  // into the per-chat store; the DOM for the open chat is kept sorted by seq.
  function store(chat) {
    if (!state.messages.has(chat)) state.messages.set(chat, new Map());
    return state.messages.get(chat);
  }

  // Returns true if the message is new. seq is the key: it is the same on
  // every device, whichever way the message arrived.
  // lastSeq only follows what the server delivered (history, replay, live),
  // which has no gaps: our own MessageAccepted may overtake others'
  // messages with lower seqs, and resuming after it would skip those.
  function remember(chat, m) {
    const bySeq = store(chat);
    if (!m.local && m.seq > (state.lastSeq.get(chat) || 0)) state.lastSeq.set(chat, m.seq);
    if (bySeq.has(m.seq)) return false;
    bySeq.set(m.seq, m);
    return true;
  }

  const isMine = (m) => Boolean(state.me && m.user === state.me.user);

  function addMessages(chat, list, live) {
    if (!chat) return;
    const known = ensureChat(chat, list[0] && list[0].room);
    const open = chat === state.current;
    const atBottom = isAtBottom();
    let ownSent = false;
    for (const m of list) {
      if (typeof m.seq !== 'number') continue;
      const isNew = remember(chat, m);
      if (!isNew && !m.local) replaceLocal(chat, m);
      if (isNew && isMine(m) && dropPending(chat, m)) ownSent = true;
      if (!isNew) continue;
      if (open) insertMessageEl(m);
      else if (live && !isMine(m)) { known.unread++; renderRooms(); }
    }
    if (open && (atBottom || ownSent)) scrollToBottom();
  }

  // Our own message came back (NewMessage may overtake MessageAccepted):
  // drop the oldest pending copy sent from this device with that text.
  function dropPending(chat, m) {
    if (!m.device || m.device !== state.device) return false;
    for (const [cid, p] of state.pending) {
      if (p.chat === chat && p.text === m.message && !p.failed) {
        state.pending.delete(cid);
        removePendingEl(cid);
        return true;
      }
    }
    return false;
  }

  function onAccepted(c) {
    const p = state.pending.get(c.clientMsgId);
    if (!p) return;
    state.pending.delete(c.clientMsgId);
    removePendingEl(c.clientMsgId);
    const m = {
      chat: c.chat, room: c.room, seq: c.seq, id: c.id || c.clientMsgId, message: p.text,
      user: state.me.user, name: state.me.name, postedAt: new Date().toISOString(), local: true,
    };
    addMessages(c.chat, [m], false);
    if (c.chat === state.current) scrollToBottom();
  }

  // Our own message recorded from MessageAccepted carries a local time; when
  // the server's NewMessage for that seq arrives, swap in the real record.
  function replaceLocal(chat, m) {
    const bySeq = store(chat);
    const old = bySeq.get(m.seq);
    if (!old || !old.local) return;
    bySeq.set(m.seq, m);
    if (chat !== state.current) return;
    const node = $('messages').querySelector(`.message[data-seq="${Number(m.seq)}"]`);
    if (node) node.replaceWith(messageEl(m));
  }

  function sendMessage() {
    const input = $('message-input');
    const text = input.value;
    if (!state.current || !text.trim()) return;
    const clientMsgId = crypto.randomUUID();
    state.pending.set(clientMsgId, { chat: state.current, text, failed: false });
    input.value = '';
    $('messages').append(pendingEl(clientMsgId, state.pending.get(clientMsgId)));
    scrollToBottom();
    // If offline, the message stays pending and is sent on the next Welcome.
    send('chat-room', 'SendMessage', { chat: state.current, message: text, clientMsgId });
  }

  function retryPending(clientMsgId) {
    const p = state.pending.get(clientMsgId);
    if (!p) return;
    p.failed = false;
    renderMessages('keep');
    send('chat-room', 'SendMessage', { chat: p.chat, message: p.text, clientMsgId });
  }

  // History: the newest page on open, then older pages on scroll to the top.
  function requestHistory(chat, before) {
    const paging = state.paging.get(chat) || { loading: false, loaded: false, done: false };
    state.paging.set(chat, paging);
    if (paging.loading || (before !== undefined && paging.done)) return;
    const contents = { chat, limit: PAGE_SIZE };
    if (before !== undefined) contents.before = before;
    if (send('chat-room', 'History', contents)) paging.loading = true;
  }

  function loadOlder() {
    const chat = state.current;
    if (!chat) return;
    const seqs = [...store(chat).keys()];
    if (!seqs.length) return;
    requestHistory(chat, Math.min(...seqs));
  }

  function onHistoryPage(c) {
    const list = c.messages || [];
    const paging = state.paging.get(c.chat) || {};
    paging.loading = false;
    paging.loaded = true;
    if (list.length < PAGE_SIZE) paging.done = true;
    state.paging.set(c.chat, paging);
    for (const m of list) remember(c.chat, m);
    if (c.chat !== state.current) return;
    const box = $('messages');
    const fresh = box.childElementCount === 0 || isAtBottom();
    renderMessages(fresh ? 'bottom' : 'keep');
    // If the page does not fill the view, there is no scrollbar to pull: load more.
    if (!paging.done && box.scrollHeight <= box.clientHeight) loadOlder();
  }

  function onMessagesScroll() {
    if ($('messages').scrollTop < 40) loadOlder();
  }

  // Rendering. 'bottom' scrolls to the newest; 'keep' keeps the distance from
  // the bottom so prepending older pages does not jump.
  function renderMessages(scroll) {
    const box = $('messages');
    const fromBottom = box.scrollHeight - box.scrollTop;
    box.replaceChildren();
    const chat = state.current;
    if (!chat) return;
    const paging = state.paging.get(chat);
    if (paging && paging.done) box.append(el('p', 'history-edge', 'Beginning of the conversation'));
    const list = [...store(chat).values()].sort((a, b) => a.seq - b.seq);
    for (const m of list) box.append(messageEl(m));
    for (const [cid, p] of state.pending) if (p.chat === chat) box.append(pendingEl(cid, p));
    if (scroll === 'bottom') scrollToBottom();
    else box.scrollTop = box.scrollHeight - fromBottom;
  }

  function messageEl(m) {
    const node = el('div', 'message');
    node.dataset.seq = String(m.seq);
    if (m.id) node.dataset.id = m.id;
    if (isMine(m)) node.classList.add('own');
    node.append(metaEl(m.name || m.user || 'unknown', m.postedAt), el('div', 'text', m.message));
    return node;
  }

  function pendingEl(clientMsgId, p) {
    const node = el('div', 'message pending own');
    node.dataset.clientId = clientMsgId;
    const meta = metaEl(state.me ? state.me.name : '', null, p.failed ? 'not sent' : 'sending…');
    if (p.failed) {
      node.classList.add('failed');
      const retry = el('button', 'retry', 'Retry');
      retry.type = 'button';
      retry.dataset.retry = clientMsgId;
      meta.append(retry);
    }
    node.append(meta, el('div', 'text', p.text));
    return node;
  }

  function metaEl(sender, postedAt, label) {
    const meta = el('div', 'meta');
    const time = el('time', 'time');
    if (postedAt) {
      const d = new Date(postedAt);
      time.dateTime = postedAt;
      time.title = d.toLocaleString();
      const sameDay = d.toDateString() === new Date().toDateString();
      time.textContent = sameDay
        ? d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
        : d.toLocaleString([], { dateStyle: 'short', timeStyle: 'short' });
    } else {
      time.textContent = label || '';
    }
    meta.append(el('span', 'sender', sender), time);
    return meta;
  }

  // Inserts a message element at its seq position (pending ones stay last).
  function insertMessageEl(m) {
    const box = $('messages');
    const node = messageEl(m);
    const rows = box.querySelectorAll('.message[data-seq]');
    for (let i = rows.length - 1; i >= 0; i--) {
      if (Number(rows[i].dataset.seq) < m.seq) return rows[i].after(node);
    }
    const first = rows[0] || box.querySelector('.message.pending');
    if (first) first.before(node);
    else box.append(node);
  }

  function removePendingEl(clientMsgId) {
    for (const node of $('messages').querySelectorAll('.message.pending')) {
      if (node.dataset.clientId === clientMsgId) node.remove();
    }
  }

  function isAtBottom() {
    const box = $('messages');
    return box.scrollHeight - box.scrollTop - box.clientHeight < 40;
  }

  function scrollToBottom() {
    const box = $('messages');
    box.scrollTop = box.scrollHeight;
  }

  // Members and presence. MemberList replaces a chat's list; JoinedRoom,
  // LeftRoom and presence frames patch it. Presence is per user, so one
  // Online/Offline updates the user in every chat.
  function onMemberList(c) {
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

  function setOnline(user, online) {
    if (online) state.online.add(user);
    else state.online.delete(user);
    for (const members of state.members.values()) {
      const m = members.get(user);
      if (m) m.online = online;
    }
    renderMembers();
  }

  function renderMembers() {
    const list = $('members');
    list.replaceChildren();
    const members = state.current && state.members.get(state.current);
    if (!members) return;
    const sorted = [...members.values()].sort((a, b) =>
      (b.online - a.online) || a.name.localeCompare(b.name));
    for (const m of sorted) {
      const li = el('li');
      li.dataset.userId = m.user;
      if (m.online) li.classList.add('online');
      if (state.me && m.user === state.me.user) li.classList.add('me');
      const dot = el('span', 'dot');
      dot.setAttribute('role', 'img');
      dot.setAttribute('aria-label', m.online ? 'online' : 'offline');
      li.append(dot, el('span', 'member-name', m.name));
      list.append(li);
    }
  }

  // Notices and announcements. Errors from the server are shown until
  // dismissed; global-channel frames scroll through a small strip.
  function showNotice(code, message) {
    const text = message || code || 'Something went wrong.';
    $('notice-text').textContent = text.charAt(0).toUpperCase() + text.slice(1);
    $('notice').dataset.code = code || '';
    $('notice').hidden = false;
  }

  function hideNotice() {
    $('notice').hidden = true;
  }

  function announce(text) {
    const list = $('announcements');
    const li = el('li', '', text);
    li.title = `${new Date().toLocaleTimeString()} ${text}`;
    list.prepend(li);
    while (list.childElementCount > 5) list.lastElementChild.remove();
    $('announcements-bar').hidden = false;
  }

  // Wiring: event listeners for forms, buttons and keyboard.
  function wire() {
    $('auth-form').addEventListener('submit', (ev) => { ev.preventDefault(); authenticate('/api/sessions'); });
    $('register').addEventListener('click', () => authenticate('/api/users'));
    $('logout').addEventListener('click', () => logout(''));
    $('notice-dismiss').addEventListener('click', hideNotice);
    $('join-form').addEventListener('submit', (ev) => { ev.preventDefault(); joinRoom($('room-name').value.trim()); });
    $('private-form').addEventListener('submit', (ev) => { ev.preventDefault(); createPrivate($('private-name').value.trim()); });
    $('rooms').addEventListener('click', (ev) => {
      const li = ev.target.closest('li[data-chat-id]');
      if (li) openChat(li.dataset.chatId);
    });
    $('leave-room').addEventListener('click', () => {
      if (state.current) sendRoom('LeaveRoom', { chat: state.current });
    });
    $('composer').addEventListener('submit', (ev) => { ev.preventDefault(); sendMessage(); });
    $('message-input').addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
        ev.preventDefault();
        sendMessage();
      }
    });
    $('messages').addEventListener('scroll', onMessagesScroll);
    window.addEventListener('online', onBrowserOnline);
    window.addEventListener('offline', onBrowserOffline);
    $('messages').addEventListener('click', (ev) => {
      const btn = ev.target.closest('button[data-retry]');
      if (btn) retryPending(btn.dataset.retry);
    });
  }

  function start() {
    wire();
    if (state.token) enterApp();
    else $('name').focus();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
