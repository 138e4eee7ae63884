// NatterClient against a real natter node started by the test: connect
// (token and guest), send with ack, history pages, join/leave and errors,
// and a node restart with sends in flight that loses and doubles nothing.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { NatterError } from '../src/natter.js';
import { NatterNode, nodeSuite, waitFor } from './node.mjs';

// A small resume limit, so that a long absence takes several replays.
const RESUME_LIMIT = 5;
const node = new NatterNode('n1', ['--allow-guests', '--resume-limit', String(RESUME_LIMIT)]);
const suite = nodeSuite(node);
const { client, collect, unique } = suite;

// assertExactlyOnce: the chat's NewMessage seqs strictly increase (no
// duplicate, in order) and the texts are exactly want, each once.
function assertExactlyOnce(got, chat, want, who) {
  const mine = got.filter((m) => m.chat === chat);
  for (let i = 1; i < mine.length; i++) {
    assert.ok(mine[i].seq > mine[i - 1].seq, `${who}: seq ${mine[i].seq} after ${mine[i - 1].seq}`);
  }
  assert.deepEqual(mine.map((m) => m.message).sort(), [...want].sort(), `${who}: every message exactly once`);
}

// closedPort is a loopback port nothing listens on (taken, then let go).
async function closedPort() {
  const srv = net.createServer();
  await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address();
  await new Promise((resolve) => srv.close(resolve));
  return port;
}


suite.describe('NatterClient against a real node', (test) => {
  test('a guest connects, joins, sends with ack and gets its message once', async () => {
    const c = client();
    const got = collect(c, 'NewMessage');
    const welcome = await c.connect();
    assert.ok(welcome.user && welcome.device, 'Welcome names the user and the device');
    assert.equal(c.state, 'open');
    const room = unique('#guests');
    const joined = await c.join({ room });
    assert.equal(joined.room, room);
    assert.ok(joined.members.users.includes(welcome.user), 'the MemberList lists us');
    assert.equal(joined.lastSeq, 0, 'a new room has no messages');
    const ack = await c.send(joined.chat, 'hello');
    assert.equal(ack.chat, joined.chat);
    assert.ok(ack.seq > joined.lastSeq, `seq ${ack.seq} after the join's ${joined.lastSeq}`);
    assert.equal(ack.duplicate, false);
    await waitFor(() => got.length === 1, 'our NewMessage');
    assert.equal(got[0].message, 'hello');
    assert.equal(c.lastSeq(joined.chat), ack.seq);
    // The same clientMsgId again stores nothing new.
    const again = await c.send(joined.chat, 'hello', { clientMsgId: ack.clientMsgId });
    assert.equal(again.seq, ack.seq);
    assert.equal(again.duplicate, true);
  });

  test('users with tokens chat; history comes in pages', async () => {
    const [a, b] = await Promise.all([node.register(unique('alice')), node.register(unique('bob'))]);
    const alice = client({ token: a.token });
    const bob = client({ token: () => b.token });
    const bobGot = collect(bob, 'NewMessage');
    assert.equal((await alice.connect()).user, a.user);
    assert.equal((await bob.connect()).name, b.name);
    const { chat } = await alice.join({ room: unique('#pages') });
    await bob.join(chat);
    const texts = Array.from({ length: 25 }, (_, i) => `message ${i + 1}`);
    const acks = [];
    for (const t of texts) acks.push(await alice.send(chat, t));
    const seqs = acks.map((x) => x.seq);
    assert.ok(seqs.every((s, i) => i === 0 || s > seqs[i - 1]), `acks in send order: ${seqs}`);
    await waitFor(() => bobGot.length === 25, () => `bob's 25 messages (has ${bobGot.length})`);
    assertExactlyOnce(bobGot, chat, texts, 'bob');

    // Newest page first, then older ones until a short page.
    const pages = [];
    let page = await bob.history(chat, { limit: 10 });
    pages.push(page);
    while (page.messages.length === 10) {
      page = await bob.history(chat, { before: page.messages[0].seq, limit: 10 });
      pages.push(page);
    }
    assert.deepEqual(pages.map((p) => p.messages.length), [10, 10, 5]);
    const all = pages.reverse().flatMap((p) => p.messages);
    assert.deepEqual(all.map((m) => m.message), texts);
    assert.deepEqual(all.map((m) => m.seq), seqs);
    const afterPage = await bob.history(chat, { after: seqs[19] });
    assert.deepEqual(afterPage.messages.map((m) => m.seq), seqs.slice(20));
    // Pages of two chats asked at once each get their own answer.
    const other = (await bob.join({ room: unique('#other') })).chat;
    await bob.send(other, 'elsewhere');
    const [p1, p2] = await Promise.all([bob.history(chat, { limit: 1 }), bob.history(other, { limit: 1 })]);
    assert.equal(p1.messages[0].message, 'message 25');
    assert.equal(p2.messages[0].message, 'elsewhere');
  });

  test('join and leave; refused requests reject with the server code', async () => {
    const [a, b] = await Promise.all([node.register(unique('carol')), node.register(unique('dave'))]);
    const carol = client({ token: a.token });
    const dave = client({ token: b.token });
    await Promise.all([carol.connect(), dave.connect()]);
    const { chat } = await carol.join({ room: unique('#leave') });
    const carolSeesJoin = carol.once('JoinedRoom', (c) => c.user === b.user);
    const joined = await dave.join({ chat });
    assert.equal(joined.user, b.user);
    await carolSeesJoin;
    const members = await carol.members(chat);
    assert.deepEqual([...members.users].sort(), [a.user, b.user].sort());

    const carolSeesLeave = carol.once('LeftRoom', (c) => c.user === b.user);
    const left = await dave.leave(chat);
    assert.equal(left.chat, chat);
    await carolSeesLeave;
    assert.equal(dave.cursors()[chat], undefined, 'a chat we left is not resumed');

    await assert.rejects(dave.send(chat, 'not a member any more'), (err) => err instanceof NatterError && err.code === 'not_member');
    await assert.rejects(dave.history(chat), (err) => err.code === 'not_member' && err.type === 'History');
    await assert.rejects(dave.join({ chat: '00000000-0000-0000-0000-000000000000' }), (err) => err.code === 'chat_not_found');
    await assert.rejects(carol.send(chat, ''), (err) => err.code === 'missing_field');
    // The connection stays usable after errors.
    assert.equal((await carol.send(chat, 'still here')).chat, chat);
  });

  test('a long absence is resumed in several replays, each message once', async () => {
    const [a, b] = await Promise.all([node.register(unique('gina')), node.register(unique('hal'))]);
    const gina = client({ token: a.token });
    await gina.connect();
    const { chat } = await gina.join({ room: unique('#away') });
    const first = await gina.send(chat, 'before');
    const hal = client({ token: b.token });
    await hal.connect();
    await hal.join(chat);
    hal.close();
    const missed = Array.from({ length: 3 * RESUME_LIMIT + 2 }, (_, i) => `missed ${i + 1}`);
    for (const t of missed) await gina.send(chat, t);
    // A new client that holds the chat up to the first message.
    const back = client({ token: b.token, resume: { [chat]: first.seq } });
    const got = collect(back, 'NewMessage');
    const resumed = collect(back, 'Resumed');
    await back.connect();
    await waitFor(() => got.length === missed.length, () => `${missed.length} missed messages (got ${got.length})`);
    assertExactlyOnce(got, chat, missed, 'hal');
    await waitFor(() => resumed.some((r) => !r.more), 'the last replay');
    assert.ok(resumed.filter((r) => r.more).length >= 3, `replays with more: ${JSON.stringify(resumed)}`);
    // Live delivery goes on after the replays.
    await gina.send(chat, 'live again');
    await waitFor(() => got.length === missed.length + 1, 'the live message');
    assert.equal(got.at(-1).message, 'live again');
  });

  test('chats past the URL budget resume by frame, each message once', async () => {
    const u = await node.register(unique('jo'));
    const writer = client({ token: u.token });
    await writer.connect();
    const { chat } = await writer.join({ room: unique('#many') });
    const first = await writer.send(chat, 'seen');
    const missed = Array.from({ length: 8 }, (_, i) => `later ${i + 1}`);
    for (const t of missed) await writer.send(chat, t);
    // 200 chats (unknown ones: the node refuses their resumes) before the
    // real one: the URL holds some 150, the real chat goes by frame.
    const reader = client({ token: u.token });
    for (let i = 0; i < 200; i++) reader.track(randomUUID(), 1);
    reader.track(chat, first.seq);
    const got = collect(reader, 'NewMessage');
    await reader.connect();
    await waitFor(() => got.length >= missed.length, () => `the missed messages (got ${got.length})`);
    await writer.send(chat, 'live');
    await waitFor(() => got.some((m) => m.message === 'live'), 'the live message');
    assertExactlyOnce(got, chat, [...missed, 'live'], 'reader');
    // Those resumed by frame were refused by name (the ref), and are not
    // resumed again; a refusal of one in the URL cannot name its chat.
    await waitFor(() => Object.keys(reader.cursors()).length < 201, 'unknown chats resumed by frame forgotten');
    assert.ok(chat in reader.cursors());
  });

  test('a guest comes back as a new guest in its rooms and misses nothing', async () => {
    const u = await node.register(unique('kim'));
    const user = client({ token: u.token });
    const guest = client();
    const got = collect(guest, 'NewMessage');
    await Promise.all([user.connect(), guest.connect()]);
    const before = guest.me.user;
    const room = unique('#guests-back');
    const { chat } = await guest.join({ room });
    await user.join(chat);
    const want = [];
    const acks = [];
    const say = (c, text) => { want.push(text); acks.push(c.send(chat, text)); };
    say(user, 'before the restart');
    await waitFor(() => got.length === 1, 'the first message');
    await node.stop();
    say(user, 'queued by the user');
    say(guest, 'queued by the guest');
    await node.start();
    for (let i = 1; i <= 5; i++) say(user, `after ${i}`);
    await Promise.all(acks);
    await waitFor(() => got.length >= want.length, () => `${want.length} messages (got ${got.length})`);
    assertExactlyOnce(got, chat, want, 'guest');
    assert.notEqual(guest.me.user, before, 'a new guest');
    const members = await user.members(chat);
    assert.ok(members.users.includes(guest.me.user), 'the new guest is in the room');
  });

  test('a newer token is handed to the connection and used for reconnects', async () => {
    const u = await node.register(unique('lee'));
    const c = client({ token: u.token });
    const first = await c.connect();
    const res = await fetch(`${node.http}/api/sessions/refresh`, { method: 'POST', headers: { Authorization: `Bearer ${u.token}` } });
    assert.equal(res.status, 200);
    const fresh = await res.json();
    const refreshed = await c.refresh(fresh.token);
    assert.ok(Date.parse(refreshed.expiresAt) >= Date.parse(first.expiresAt), 'a refresh never shortens');
    await assert.rejects(c.refresh('not-a-token'), (err) => err.code === 'unauthorized' && err.type === 'Refresh');
    c.reconnect();
    const again = await c.once('Welcome');
    assert.equal(again.user, u.user);
    assert.equal(again.expiresAt, fresh.expiresAt, 'the reconnect used the newer token');
  });

  test('a revoked token closes the client for good', async () => {
    const u = await node.register(unique('ivy'));
    const c = client({ token: u.token });
    await c.connect();
    const closed = c.once('close');
    const res = await fetch(`${node.http}/api/sessions`, { method: 'DELETE', headers: { Authorization: `Bearer ${u.token}` } });
    assert.equal(res.status, 204);
    assert.equal((await closed).code, 4003);
    assert.equal(c.state, 'closed');
    await assert.rejects(c.connect(), (err) => err.code === 'closed');
  });

  test('any WebSocket implementation can be handed in', async () => {
    let made = 0;
    class Counted extends WebSocket {
      constructor(...args) {
        super(...args);
        made++;
      }
    }
    const c = client({ WebSocket: Counted });
    await c.connect();
    assert.equal(made, 1);
    c.reconnect(); // at once, on a new socket
    await waitFor(() => made === 2 && c.state === 'open', 'the reconnect');
  });

  test('a refused connection is retried (also where no close event follows the error)', async () => {
    const refused = await closedPort();
    let calls = 0;
    const disconnects = [];
    // connectTimeout out of reach: only the failure itself may move the client on.
    const c = client({ url: () => (++calls === 1 ? `ws://127.0.0.1:${refused}/ws` : node.ws), connectTimeout: 600_000 });
    c.on('disconnect', (d) => disconnects.push(d));
    await c.connect();
    assert.equal(calls, 2);
    assert.equal(disconnects.length, 1);
    assert.equal(disconnects[0].wasOpen, false);
  });

  test('close rejects what is waiting and stops reconnecting', async () => {
    const c = client();
    await c.connect();
    const { chat } = await c.join({ room: unique('#close') });
    node.proc.kill('SIGSTOP'); // the node stops answering, the socket stays up
    try {
      const pending = c.history(chat);
      c.close();
      await assert.rejects(pending, (err) => err.code === 'closed');
      assert.equal(c.state, 'closed');
      await assert.rejects(c.send(chat, 'x'), (err) => err.code === 'closed');
    } finally {
      node.proc.kill('SIGCONT');
    }
  });

  test('a node restart with sends in flight loses and doubles nothing', async () => {
    const [a, b] = await Promise.all([node.register(unique('erin')), node.register(unique('frank'))]);
    const erin = client({ token: a.token });
    const frank = client({ token: b.token });
    const erinGot = collect(erin, 'NewMessage');
    const frankGot = collect(frank, 'NewMessage');
    const frankDisconnects = collect(frank, 'disconnect');
    await Promise.all([erin.connect(), frank.connect()]);
    const { chat } = await erin.join({ room: unique('#restart') });
    await frank.join(chat);

    const want = [];
    const acks = [];
    const sendBatch = (who, c, count) => {
      for (let i = 0; i < count; i++) {
        const text = `${who} ${want.length + 1}`;
        want.push(text);
        acks.push(c.send(chat, text));
      }
    };
    // In flight when the node goes down: not awaited.
    sendBatch('erin', erin, 10);
    sendBatch('frank', frank, 5);
    await node.stop();
    await waitFor(() => erin.state !== 'open' && frank.state !== 'open', 'both clients to notice the restart');
    // Sent while the node is down: queued, sent after the reconnect.
    sendBatch('erin', erin, 5);
    sendBatch('frank', frank, 5);
    await node.start();
    sendBatch('frank', frank, 5);
    const accepted = await Promise.all(acks);

    // Every send was stored once: distinct seqs, and history has each text once.
    const seqs = accepted.map((x) => x.seq);
    assert.equal(new Set(seqs).size, want.length, `distinct seqs: ${seqs}`);
    await waitFor(() => erinGot.filter((m) => m.chat === chat).length >= want.length &&
      frankGot.filter((m) => m.chat === chat).length >= want.length,
    () => `both to get ${want.length} messages (erin ${erinGot.length}, frank ${frankGot.length})`);
    assertExactlyOnce(erinGot, chat, want, 'erin');
    assertExactlyOnce(frankGot, chat, want, 'frank');
    const stored = (await erin.history(chat, { limit: 100 })).messages;
    assert.deepEqual(stored.map((m) => m.message).sort(), [...want].sort(), 'stored once each');
    assert.ok(frankDisconnects.length >= 1, 'frank was disconnected');
    assert.equal(frank.pendingSends().length, 0);

    // Messages said while a client is away reach it by the resume.
    frank.close();
    const gone = client({ token: b.token, resume: { [chat]: frank.lastSeq(chat) } });
    const goneGot = collect(gone, 'NewMessage');
    await erin.send(chat, 'while frank was away');
    await gone.connect();
    await waitFor(() => goneGot.length === 1, 'the missed message');
    assert.equal(goneGot[0].message, 'while frank was away');
    assert.equal(goneGot[0].seq, Math.max(...seqs) + 1);
  });
});
