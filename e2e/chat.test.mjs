// End-to-end test of natter's browser page: two users in two browser
// contexts, each on a different node of a 2-node cluster, chat with each
// other; history survives a reload; a network drop is repaired by
// reconnect + resume with every message shown exactly once, in order; an
// edit and a reaction reach the other node's page.
//
//   NATTER_BIN=/path/to/natter node --test e2e/
//
// Env: NATTER_BIN (required) the natter binary; CHROMIUM (default
// /usr/bin/chromium); E2E_SCREENSHOT_DIR: also save screenshots of the
// chat view there. On failure, screenshots of both pages and the nodes'
// logs are kept in a temp directory whose path is printed.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium } from 'playwright-core';

const NATTER_BIN = process.env.NATTER_BIN;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SHOT_DIR = process.env.E2E_SCREENSHOT_DIR || '';
const STEP_TIMEOUT = 15_000; // one expectation (Playwright's auto-wait)
const ROOM = 'e2e-room';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'natter-e2e-'));
const nodes = []; // {name, proc, url, log}
const proxies = [];
let browser;
let alice; // {context, page}
let bob;
let bobProxy; // the TCP proxy between bob's browser and node 2
let failed = false;

// ---- helpers ----------------------------------------------------------

// freePorts reserves n distinct free loopback ports (held open together so
// they differ, then released for the nodes to take).
async function freePorts(n) {
  const servers = await Promise.all(Array.from({ length: n }, () => new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => resolve(s));
  })));
  const ports = servers.map((s) => s.address().port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

function startNode(name, port, routePort, routes, secret) {
  const log = path.join(tmp, `${name}.log`);
  const out = fs.openSync(log, 'a');
  const proc = spawn(NATTER_BIN, [
    '--listen', `127.0.0.1:${port}`,
    '--data-dir', path.join(tmp, name),
    '--node-id', name,
    '--secret', secret,
    '--cluster-listen', `127.0.0.1:${routePort}`,
    '--routes', routes.join(','),
    '--drain-timeout', '3s',
  ], { stdio: ['ignore', out, out] });
  fs.closeSync(out);
  const n = { name, proc, url: `http://127.0.0.1:${port}`, log, exited: false };
  proc.on('exit', () => { n.exited = true; });
  nodes.push(n);
  return n;
}

async function waitReady(n, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (n.exited) throw new Error(`${n.name} exited early; log:\n${tail(n.log)}`);
    try {
      const res = await fetch(`${n.url}/readyz`, { signal: AbortSignal.timeout(2000) });
      last = `${res.status} ${(await res.text()).trim()}`;
      if (res.ok) return;
    } catch (err) {
      last = err.message;
    }
    await sleep(200);
  }
  throw new Error(`${n.name} not ready after ${timeoutMs} ms (last: ${last}); log:\n${tail(n.log)}`);
}

function tail(file, lines = 30) {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

async function stopNode(n) {
  if (n.exited) return;
  const gone = new Promise((r) => n.proc.once('exit', r));
  try { process.kill(n.proc.pid, 'SIGTERM'); } catch { return; }
  const timer = sleep(5000).then(() => 'timeout');
  if (await Promise.race([gone, timer]) === 'timeout' && !n.exited) {
    try { process.kill(n.proc.pid, 'SIGKILL'); } catch { /* already gone */ }
    await Promise.race([gone, sleep(2000)]);
  }
}

// A TCP proxy in front of a node: cut() drops every connection and
// refuses new ones (a network drop as the browser sees it), restore()
// accepts again.
async function startProxy(targetPort) {
  const conns = new Set();
  let down = false;
  const server = net.createServer((client) => {
    if (down) return client.destroy();
    const upstream = net.connect(targetPort, '127.0.0.1');
    const pair = { client, upstream };
    conns.add(pair);
    const close = () => { client.destroy(); upstream.destroy(); conns.delete(pair); };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const p = {
    url: `http://127.0.0.1:${server.address().port}`,
    cut() {
      down = true;
      for (const { client, upstream } of conns) { client.resetAndDestroy(); upstream.destroy(); }
      conns.clear();
    },
    restore() { down = false; },
    close() {
      p.cut();
      return new Promise((r) => server.close(r));
    },
  };
  proxies.push(p);
  return p;
}

async function newUser(label, url) {
  const context = await browser.newContext({ viewport: { width: 1100, height: 640 } });
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT);
  const u = { label, context, page, errors: [], console: [] };
  page.on('pageerror', (err) => u.errors.push(err.message));
  page.on('console', (msg) => u.console.push(`${msg.type()}: ${msg.text()}`));
  await page.goto(url);
  return u;
}

async function register(u, name, password) {
  const { page } = u;
  await page.fill('#name', name);
  await page.fill('#password', password);
  await page.click('#register');
}

async function joinRoom(u, name) {
  const { page } = u;
  await page.fill('#room-name', name);
  await page.click('#join-room');
  await page.locator('#rooms li[data-chat-id].active', { hasText: name }).waitFor();
  await page.locator('#room-title', { hasText: name }).waitFor();
}

async function sendMessage(u, text) {
  const { page } = u;
  await page.fill('#message-input', text);
  await page.click('#send');
  // Acknowledged: shown with its seq (no longer pending).
  await page.locator('#messages .message[data-seq]', { hasText: text }).waitFor();
}

// Every message of the open chat as {seq, sender, text, time}, in DOM order.
function messages(u) {
  return u.page.$$eval('#messages .message[data-seq]', (rows) => rows.map((r) => ({
    seq: Number(r.dataset.seq),
    sender: r.querySelector('.sender')?.textContent ?? '',
    text: r.querySelector('.text')?.textContent ?? '',
    time: r.querySelector('.time')?.textContent ?? '',
  })));
}

async function expectMessage(u, sender, text) {
  const row = u.page.locator('#messages .message[data-seq]', { hasText: text });
  await row.waitFor();
  assert.equal((await row.locator('.sender').textContent()).trim(), sender);
  assert.equal((await row.locator('.text').textContent()), text);
  assert.match((await row.locator('.time').textContent()).trim(), /\d/, 'message shows a time');
}

// Seqs strictly increasing = no duplicate and in order.
function assertOrderedUnique(list, who) {
  for (let i = 1; i < list.length; i++) {
    assert.ok(list[i].seq > list[i - 1].seq,
      `${who}: messages out of order or duplicated at ${JSON.stringify(list.slice(i - 1, i + 1))}`);
  }
}

async function screenshot(u, name) {
  if (!SHOT_DIR || !u) return;
  fs.mkdirSync(SHOT_DIR, { recursive: true });
  await u.page.screenshot({ path: path.join(SHOT_DIR, name) });
}

// step runs one part of the scenario; after a failure the rest is skipped
// (each step builds on the previous one) and both pages are captured.
function step(name, fn, timeout = 45_000) {
  it(name, { timeout: timeout + 10_000 }, async (t) => {
    if (failed) return t.skip('an earlier step failed');
    const timer = new AbortController();
    try {
      // Our own deadline (before the runner's), so a stuck step still
      // gets its screenshots and stops the steps after it.
      await Promise.race([fn(), sleep(timeout, null, { signal: timer.signal }).then(() => {
        throw new Error(`step timed out after ${timeout} ms`);
      })]);
    } catch (err) {
      failed = true;
      const dir = path.join(tmp, 'failure');
      fs.mkdirSync(dir, { recursive: true });
      for (const u of [alice, bob]) {
        if (!u) continue;
        await u.page.screenshot({ path: path.join(dir, `${u.label}.png`), fullPage: true }).catch(() => {});
        fs.writeFileSync(path.join(dir, `${u.label}-console.txt`), u.console.join('\n'));
      }
      console.error(`# e2e: failure screenshots and logs in ${dir} (node logs in ${tmp})`);
      throw err;
    } finally {
      timer.abort();
    }
  });
}

// ---- the scenario -----------------------------------------------------

describe('natter browser chat on a 2-node cluster', { timeout: 160_000 }, () => {
  // Setup is a step, not a before() hook, so that a cluster that does
  // not start counts as a failed test in the summary.
  step('the 2-node cluster starts and the browser launches', async () => {
    assert.ok(NATTER_BIN, 'set NATTER_BIN to a natter binary (go build -o $TMP/natter ./cmd/natter)');
    assert.ok(fs.existsSync(NATTER_BIN), `NATTER_BIN ${NATTER_BIN} does not exist`);
    assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing (apt-get install -y chromium)`);
    const [p1, p2, r1, r2] = await freePorts(4);
    const secret = randomBytes(24).toString('hex');
    const routes = [`nats://127.0.0.1:${r1}`, `nats://127.0.0.1:${r2}`];
    const n1 = startNode('node1', p1, r1, routes, secret);
    const n2 = startNode('node2', p2, r2, routes, secret);
    // Launch the browser while the nodes start; wait for everything (so
    // after() can close whatever did start) before failing.
    const launched = chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      chromiumSandbox: false,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    }).then((b) => { browser = b; });
    const results = await Promise.allSettled([launched, waitReady(n1, 60_000), waitReady(n2, 60_000)]);
    const bad = results.find((r) => r.status === 'rejected');
    if (bad) throw bad.reason;
    bobProxy = await startProxy(p2);
  }, 75_000);

  after(async () => {
    await browser?.close().catch(() => {});
    await Promise.all(proxies.map((p) => p.close().catch(() => {})));
    await Promise.all(nodes.map(stopNode));
    if (!failed && !process.exitCode) fs.rmSync(tmp, { recursive: true, force: true });
  });

  step('a too-short password shows a clear error', async () => {
    alice = await newUser('alice', nodes[0].url + '/');
    await register(alice, 'alice', 'short');
    const err = alice.page.locator('#auth-error');
    await err.waitFor({ state: 'visible' });
    assert.match(await err.textContent(), /password/i);
    assert.match(await err.textContent(), /8/);
    await screenshot(alice, 'login-error.png');
    assert.ok(await alice.page.locator('#app-view').isHidden(), 'still on the login form');
  });

  step('alice registers on node 1, bob on node 2', async () => {
    await register(alice, 'alice', 'alice-password');
    await alice.page.locator('#status', { hasText: /^connected$/ }).waitFor();
    assert.equal(await alice.page.locator('#auth-error').isHidden(), true);
    bob = await newUser('bob', bobProxy.url + '/');
    await register(bob, 'bob', 'bob-password');
    await bob.page.locator('#status', { hasText: /^connected$/ }).waitFor();
  });

  step('a taken name shows a clear error', async () => {
    const eve = await newUser('eve', nodes[1].url + '/');
    try {
      await register(eve, 'ALICE', 'some-password');
      const err = eve.page.locator('#auth-error');
      await err.waitFor({ state: 'visible' });
      assert.match(await err.textContent(), /taken/i);
    } finally {
      await eve.context.close();
    }
  });

  step('alice creates the room, bob joins it; both are listed online', async () => {
    await joinRoom(alice, ROOM);
    await joinRoom(bob, ROOM);
    for (const u of [alice, bob]) {
      await u.page.locator('#members li[data-user-id].online').nth(1).waitFor();
      const names = await u.page.$$eval('#members li[data-user-id].online', (lis) => lis.map((li) => li.textContent.trim()).sort());
      assert.deepEqual(names, ['alice', 'bob'], `${u.label}'s member list`);
    }
  });

  step('alice and bob chat across the two nodes', async () => {
    await sendMessage(alice, 'hello bob, this is alice on node 1');
    await expectMessage(bob, 'alice', 'hello bob, this is alice on node 1');
    await sendMessage(bob, 'hi alice! bob here, on node 2');
    await expectMessage(alice, 'bob', 'hi alice! bob here, on node 2');
    for (const u of [alice, bob]) {
      const list = await messages(u);
      assert.deepEqual(list.map((m) => m.text), ['hello bob, this is alice on node 1', 'hi alice! bob here, on node 2'], u.label);
      assertOrderedUnique(list, u.label);
    }
    await screenshot(alice, 'chat-alice.png');
    await screenshot(bob, 'chat-bob.png');
  });

  step('after a reload bob sees the history', async () => {
    await bob.page.reload();
    await bob.page.locator('#status', { hasText: /^connected$/ }).waitFor();
    await bob.page.locator('#room-title', { hasText: ROOM }).waitFor();
    await expectMessage(bob, 'alice', 'hello bob, this is alice on node 1');
    await expectMessage(bob, 'bob', 'hi alice! bob here, on node 2');
    const list = await messages(bob);
    assert.equal(list.length, 2);
    assertOrderedUnique(list, 'bob');
    await bob.page.locator('#members li[data-user-id].online').nth(1).waitFor();
  });

  step('after a network drop bob gets what he missed, once and in order', async () => {
    const missed = ['while you were away 1', 'while you were away 2', 'while you were away 3'];
    await bob.context.setOffline(true);
    bobProxy.cut();
    await bob.page.locator('#status:not([data-state="connected"])').waitFor();
    // Alice sees bob go offline.
    await alice.page.locator('#members li[data-user-id]:not(.online)', { hasText: 'bob' }).waitFor();
    for (const text of missed) await sendMessage(alice, text);
    assert.notEqual(await bob.page.locator('#status').textContent(), 'connected');
    assert.equal(await bob.page.locator('#messages .message', { hasText: 'while you were away' }).count(), 0,
      'bob got messages while disconnected');
    bobProxy.restore();
    await bob.context.setOffline(false);
    await bob.page.locator('#status', { hasText: /^connected$/ }).waitFor({ timeout: 20_000 });
    for (const text of missed) await expectMessage(bob, 'alice', text);
    await sleep(500); // a duplicate would arrive about now
    const list = await messages(bob);
    assertOrderedUnique(list, 'bob');
    assert.deepEqual(list.map((m) => m.text), [
      'hello bob, this is alice on node 1', 'hi alice! bob here, on node 2', ...missed,
    ]);
    // Presence recovers on both sides.
    await alice.page.locator('#members li[data-user-id].online', { hasText: 'bob' }).waitFor();
    await bob.page.locator('#members li[data-user-id].online').nth(1).waitFor();
    // And live delivery works again after the resume.
    await sendMessage(bob, 'back online');
    await expectMessage(alice, 'bob', 'back online');
    assertOrderedUnique(await messages(alice), 'alice');
  });

  step('bob typing shows on alice\'s page; unread badges are the same on all of alice\'s devices', async () => {
    await bob.page.fill('#message-input', 'I am typ');
    await alice.page.locator('#typing', { hasText: 'bob is typing…' }).waitFor();
    await bob.page.fill('#message-input', '');
    await alice.page.waitForFunction(() => document.getElementById('typing').textContent === '');
    // A second chat, where bob writes while alice reads the room.
    const room = await alice.page.locator('#rooms li[data-chat-id].active').getAttribute('data-chat-id');
    const aliceToken = await alice.page.evaluate(() => localStorage.getItem('natter.token'));
    const bobToken = await bob.page.evaluate(() => localStorage.getItem('natter.token'));
    const call = async (method, url, token, body) => {
      const res = await fetch(url, {
        method, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: body && JSON.stringify(body),
      });
      const text = await res.text();
      assert.ok(res.status < 300, `${method} ${url}: ${res.status} ${text}`);
      return JSON.parse(text);
    };
    const me = await call('GET', `${nodes[1].url}/api/me`, bobToken);
    const side = await call('POST', `${nodes[0].url}/api/chats`, aliceToken, { name: 'side', kind: 'private', members: [me.user] });
    const badge = (page, n) => page.locator(`#rooms li[data-chat-id="${side.id}"]${n ? `[data-unread="${n}"]` : ':not([data-unread])'}`);
    await badge(alice.page, 0).waitFor();
    for (const text of ['side 1', 'side 2']) await call('POST', `${nodes[1].url}/api/chats/${side.id}/messages`, bobToken, { text });
    await badge(alice.page, 2).waitFor(); // counted live
    // Another device of alice starts from the same count (Unread).
    const page2 = await alice.context.newPage();
    page2.setDefaultTimeout(STEP_TIMEOUT);
    page2.on('pageerror', (err) => alice.errors.push(err.message));
    await page2.goto(nodes[0].url + '/');
    await badge(page2, 2).waitFor();
    // Read on one device, cleared on the other.
    await alice.page.click(`#rooms li[data-chat-id="${side.id}"] button`);
    await expectMessage(alice, 'bob', 'side 2');
    await badge(page2, 0).waitFor();
    await page2.close();
    await alice.page.click(`#rooms li[data-chat-id="${room}"] button`);
    await alice.page.locator('#room-title', { hasText: ROOM }).waitFor();
  });

  step('bob scrolls back through a long history', async () => {
    // 80 more messages through the HTTP API (node 1), as alice.
    const chat = await alice.page.locator('#rooms li[data-chat-id].active').getAttribute('data-chat-id');
    const token = await alice.page.evaluate(() => localStorage.getItem('natter.token'));
    for (let i = 1; i <= 80; i++) {
      const res = await fetch(`${nodes[0].url}/api/chats/${chat}/messages`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ text: `history ${i}` }),
      });
      assert.equal(res.status, 201, `post history ${i}: ${await res.text()}`);
    }
    await expectMessage(bob, 'alice', 'history 80');
    await bob.page.reload();
    await bob.page.locator('#status', { hasText: /^connected$/ }).waitFor();
    await expectMessage(bob, 'alice', 'history 80');
    const firstPage = await messages(bob);
    assert.ok(firstPage.length < 86, `the first page is not everything (${firstPage.length})`);
    assert.equal(await bob.page.locator('#messages .history-edge').count(), 0);
    // Scroll up until the beginning shows.
    await bob.page.locator('#messages').hover();
    const deadline = Date.now() + STEP_TIMEOUT;
    while (await bob.page.locator('#messages .history-edge').count() === 0) {
      assert.ok(Date.now() < deadline, 'scrolling up never reached the beginning');
      await bob.page.mouse.wheel(0, -4000);
      await sleep(150);
    }
    const all = await messages(bob);
    assertOrderedUnique(all, 'bob');
    assert.equal(all.length, 86);
    assert.equal(all[0].text, 'hello bob, this is alice on node 1');
    assert.equal(all.at(-1).text, 'history 80');
    await screenshot(bob, 'history-top.png');
    // Still live at the bottom.
    await sendMessage(alice, 'the newest one');
    await expectMessage(bob, 'alice', 'the newest one');
  });

  step('bob edits his message and alice reacts to it, across the nodes', async () => {
    const seq = await bob.page.locator('#messages .message[data-seq]', { hasText: 'hi alice! bob here, on node 2' }).first().getAttribute('data-seq');
    const rowOf = (u) => u.page.locator(`#messages .message[data-seq="${seq}"]`);
    bob.page.once('dialog', (d) => d.accept('hi alice! (edited by bob)'));
    await rowOf(bob).locator('button[data-action="edit"]').click();
    for (const u of [alice, bob]) {
      await rowOf(u).locator('.edited').waitFor();
      assert.equal(await rowOf(u).locator('.text').textContent(), 'hi alice! (edited by bob)', u.label);
    }
    assert.equal(await rowOf(alice).locator('button[data-action="edit"]').count(), 0, 'alice may not edit bob\'s message');
    await rowOf(alice).locator('button[data-action="react"][data-emoji="👍"]').click();
    for (const u of [alice, bob]) await rowOf(u).locator('button[data-action="react"]', { hasText: '👍 1' }).waitFor();
  });

  step('in a direct chat alice sees when bob has read her message', async () => {
    const room = await alice.page.locator('#rooms li[data-chat-id].active').getAttribute('data-chat-id');
    const aliceToken = await alice.page.evaluate(() => localStorage.getItem('natter.token'));
    const bobToken = await bob.page.evaluate(() => localStorage.getItem('natter.token'));
    const me = await (await fetch(`${nodes[1].url}/api/me`, { headers: { Authorization: `Bearer ${bobToken}` } })).json();
    const res = await fetch(`${nodes[0].url}/api/chats`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${aliceToken}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ kind: 'direct', members: [me.user] }),
    });
    const body = await res.text();
    assert.ok(res.status < 300, `create the direct chat: ${res.status} ${body}`);
    const direct = JSON.parse(body).id;
    const entry = (u) => u.page.locator(`#rooms li[data-chat-id="${direct}"] button`);
    await entry(alice).click();
    await sendMessage(alice, 'just between us');
    const row = alice.page.locator('#messages .message[data-seq]', { hasText: 'just between us' });
    assert.equal(await row.locator('.seen').count(), 0, 'seen before bob opened the chat');
    await entry(bob).click(); // bob reads it: his page marks the chat read
    await expectMessage(bob, 'alice', 'just between us');
    await row.locator('.seen').waitFor(); // alice's ReadMarker from bob's marker
    await alice.page.click(`#rooms li[data-chat-id="${room}"] button`);
    await bob.page.click(`#rooms li[data-chat-id="${room}"] button`);
    await alice.page.locator('#room-title', { hasText: ROOM }).waitFor();
  });

  step('bob leaves the room', async () => {
    await bob.page.click('#leave-room');
    await bob.page.locator('#rooms li[data-chat-id]', { hasText: ROOM }).waitFor({ state: 'detached' });
    await alice.page.locator('#members li[data-user-id]', { hasText: 'bob' }).waitFor({ state: 'detached' });
  });

  step('no script errors on either page', async () => {
    assert.deepEqual(alice.errors, [], 'alice page errors');
    assert.deepEqual(bob.errors, [], 'bob page errors');
  });
});
