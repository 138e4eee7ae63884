// The client's pure parts, without a node: backoff, cursors, holds,
// resumes, read marks, options.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Cursors } from '../src/cursors.js';
import { Holds } from '../src/holds.js';
import { ReadMarks } from '../src/read.js';
import { MAX_RESUME, Resumes } from '../src/resume.js';
import { NatterClient, backoffDelay, DEFAULT_BACKOFF } from '../src/natter.js';

describe('backoff', () => {
  it('doubles up to the max, jittered within the upper half of each step', () => {
    const steps = [500, 1000, 2000, 4000, 8000, 10000, 10000];
    steps.forEach((step, attempt) => {
      assert.equal(backoffDelay(attempt, DEFAULT_BACKOFF, () => 0), step / 2);
      assert.equal(backoffDelay(attempt, DEFAULT_BACKOFF, () => 1), step);
    });
    assert.equal(backoffDelay(1000, { initial: 100, max: 1000 }, () => 1), 1000, 'no overflow on a long outage');
  });
});

describe('cursors', () => {
  it('drop a seq already delivered and resume from the last one', () => {
    const c = new Cursors();
    assert.equal(c.has('a'), false);
    assert.equal(c.accept('a', 5), true);
    assert.equal(c.accept('a', 5), false, 'the same seq twice');
    assert.equal(c.accept('a', 3), false, 'an older seq');
    assert.equal(c.accept('a', 9), true, 'seqs may skip');
    assert.deepEqual(c.entries(), [['a', 9]]);
  });

  it('use a history or join point only until a message is delivered', () => {
    const c = new Cursors();
    c.note('b', 40);
    assert.equal(c.point('b'), 40);
    assert.equal(c.accept('b', 12), true, 'a point from history never suppresses a delivery');
    assert.equal(c.point('b'), 12, 'then the delivered seq is where the chat resumes');
    c.forget('b');
    assert.equal(c.has('b'), false);
    c.track('t', 7);
    assert.equal(c.accept('t', 7), false, 'track says the application holds seq 7');
    assert.throws(() => c.track('t', -1), RangeError);
  });
});

describe('holds', () => {
  it('give back a replay part in seq order and keep live frames past it', () => {
    const h = new Holds();
    h.hold('c');
    for (const seq of [65, 59, 61, 60]) h.add('c', { seq });
    assert.deepEqual(h.releaseUpTo('c', 61).map((i) => i.seq), [59, 60, 61]);
    assert.equal(h.holding('c'), true, 'still held: the next part comes');
    h.add('c', { seq: 64 });
    assert.deepEqual(h.release('c').map((i) => i.seq), [64, 65]);
    assert.equal(h.holding('c'), false);
    assert.deepEqual(h.releaseUpTo('c', 100), [], 'nothing held');
  });
});

describe('resumes', () => {
  it('list what fits in the URL, resume the rest by frame after the Welcome, holding each until its replay ends', () => {
    const cursors = new Cursors();
    for (let i = 0; i < MAX_RESUME + 2; i++) cursors.track(`c${i}`, i + 1);
    const sent = [];
    const delivered = [];
    const r = new Resumes(cursors, (channel, type, contents, ref) => { sent.push({ type, contents, ref }); return true; }, (item) => delivered.push(item.seq));
    const url = new URL(r.socketURL('http://h:1/ws'));
    assert.equal(url.protocol, 'ws:');
    const listed = url.searchParams.get('resume').split(',');
    assert.ok(listed.length <= MAX_RESUME && listed.length > 0);
    assert.equal(listed[0], 'c0:1');
    assert.equal(new URL(r.socketURL('https://h/ws', false)).searchParams.has('resume'), false, 'a guest resumes nothing in the URL');
    r.socketURL('http://h:1/ws');
    r.welcomed(false);
    assert.equal(listed.length + sent.length, MAX_RESUME + 2, 'every chat resumes, in the URL or by frame');
    assert.ok(sent.every((f) => f.type === 'Resume' && f.ref === 'resume:' + f.contents.chat));
    const chat = sent[0].contents.chat;
    assert.equal(r.hold(chat, { seq: 9 }), true);
    assert.equal(r.hold(chat, { seq: 8 }), true);
    assert.equal(r.hold('c0', { seq: 1 }), false, 'a chat resumed in the URL is held by the server');
    r.resumed({ chat });
    assert.deepEqual(delivered, [8, 9], 'released in seq order');
    assert.equal(r.hold(chat, { seq: 10 }), false);
  });
});

describe('read marks', () => {
  it('never move backwards and keep the newest wish while disconnected', () => {
    let connected = false;
    const sent = [];
    const m = new ReadMarks((chat, seq) => connected && sent.push([chat, seq]) > 0);
    m.mark('a', 5);
    m.mark('a', 7);
    assert.deepEqual(sent, []);
    connected = true;
    m.flush();
    assert.deepEqual(sent, [['a', 7]], 'the newest wish, once');
    m.mark('a', 6);
    m.seen('a', 20); // another device of ours
    m.mark('a', 15);
    assert.deepEqual(sent, [['a', 7]], 'nothing behind the marker');
    m.forget('a');
    m.mark('a', 3);
    assert.deepEqual(sent, [['a', 7], ['a', 3]]);
  });
});

describe('options', () => {
  it('need a url and a WebSocket', () => {
    assert.throws(() => new NatterClient({}), /url option/);
    assert.throws(() => new NatterClient({ url: 'ws://x/ws', WebSocket: 42 }), /WebSocket/);
  });

  it('name chats by id, {chat} or {room} only', () => {
    const c = new NatterClient({ url: 'ws://127.0.0.1:9/ws' });
    assert.throws(() => c.history(''), /name a chat/);
    assert.throws(() => c.typing({ nope: 1 }), /name a chat/);
    assert.throws(() => c.markRead('chat', -1), /markRead/);
  });
});
