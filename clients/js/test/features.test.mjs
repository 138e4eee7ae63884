// The chat features' helpers against a real node: typing, read markers,
// edits, deletions, reactions and replies, and a resume that replays
// missed edits once each.

import assert from 'node:assert/strict';
import { NatterNode, nodeSuite, waitFor } from './node.mjs';

const node = new NatterNode('features');
const suite = nodeSuite(node);
const { client, collect, unique } = suite;

// users registers two users, connects a client for each (alice, bob) and
// puts both in a new room.
async function users() {
  const [a, b] = await Promise.all([node.register(unique('alice')), node.register(unique('bob'))]);
  const alice = client({ token: a.token });
  const bob = client({ token: b.token });
  await Promise.all([alice.connect(), bob.connect()]);
  const { chat } = await alice.join({ room: unique('#features') });
  await bob.join(chat);
  return { a, b, alice, bob, chat };
}

suite.describe('chat features through NatterClient', (test) => {
  test('typing shows for the others and ends with StopTyping', async () => {
    const { a, alice, bob, chat } = await users();
    const typers = collect(bob, 'typers');
    assert.equal(alice.typing(chat), true);
    assert.equal(alice.typing(chat), false, 'at most one Typing per 2 s');
    await waitFor(() => typers.length === 1, 'bob sees alice typing');
    assert.deepEqual(typers[0], { chat, users: [{ user: a.user, name: a.name }] });
    assert.deepEqual(bob.typers(chat), [{ user: a.user, name: a.name }]);
    assert.deepEqual(alice.typers(chat), [], 'not our own');
    alice.stopTyping(chat);
    await waitFor(() => typers.length === 2, 'bob sees alice stop');
    assert.deepEqual(bob.typers(chat), []);
  });

  test('a read marker reaches the reader\'s other devices and the next Welcome', async () => {
    const { a, alice, bob, chat } = await users();
    const phone = client({ token: a.token });
    const markers = collect(phone, 'ReadMarker');
    await phone.connect();
    const acks = [];
    for (const t of ['one', 'two', 'three']) acks.push(await bob.send(chat, t));
    alice.markRead(chat, acks[1].seq);
    await waitFor(() => markers.some((m) => m.user === a.user && m.seq === acks[1].seq), 'the marker on the phone');
    alice.markRead(chat, acks[0].seq); // backwards: nothing to send
    const laptop = client({ token: a.token });
    const unread = laptop.once('Unread');
    await laptop.connect();
    const mine = (await unread).chats.find((c) => c.chat === chat);
    assert.equal(mine.readSeq, acks[1].seq);
    assert.equal(mine.unread, 1);
  });

  test('edit, react, reply and delete resolve with their frames; the others get them', async () => {
    const { alice, bob, chat } = await users();
    const seen = { MessageEdited: collect(bob, 'MessageEdited'), Reaction: collect(bob, 'Reaction'), MessageDeleted: collect(bob, 'MessageDeleted') };
    const replies = collect(alice, 'NewMessage');
    const { seq } = await alice.send(chat, 'helo');
    const edited = await alice.edit(chat, seq, 'hello');
    assert.equal(edited.message, 'hello');
    assert.equal(edited.seq, seq);
    const reacted = await bob.react(chat, seq, '👍');
    assert.equal(reacted.on, true);
    await assert.rejects(bob.edit(chat, seq, 'not mine'), (err) => err.code === 'not_sender');
    const answer = await bob.send(chat, 'hi!', { replyTo: seq });
    await waitFor(() => replies.some((m) => m.seq === answer.seq), 'the reply');
    assert.equal(replies.find((m) => m.seq === answer.seq).replyTo.seq, seq);
    let page = await bob.history(chat);
    const m = page.messages.find((x) => x.seq === seq);
    assert.equal(m.message, 'hello');
    assert.ok(m.editedAt);
    assert.deepEqual(Object.keys(m.reactions ?? {}), ['👍']);
    await waitFor(() => seen.MessageEdited.length === 1 && seen.Reaction.length === 1, 'bob\'s frames');
    const deleted = await alice.delete(chat, seq);
    assert.equal(deleted.seq, seq);
    await waitFor(() => seen.MessageDeleted.length === 1, 'bob sees the deletion');
    page = await bob.history(chat);
    const gone = page.messages.find((x) => x.seq === seq);
    assert.equal(gone.deleted, true);
    assert.ok(!gone.message, 'the text is gone');
  });

  test('edits, reactions and deletions missed while away are replayed once each', async () => {
    const { b, alice, bob, chat } = await users();
    const x = await alice.send(chat, 'first');
    const y = await alice.send(chat, 'second');
    await waitFor(() => bob.lastSeq(chat) === y.seq, 'bob has both');
    const cursor = bob.lastSeq(chat);
    bob.close();
    await alice.edit(chat, x.seq, 'first, edited');
    await alice.react(chat, y.seq, '🎉');
    await alice.delete(chat, y.seq);
    const back = client({ token: b.token, resume: { [chat]: cursor } });
    const events = [];
    for (const type of ['MessageEdited', 'Reaction', 'MessageDeleted', 'NewMessage']) back.on(type, (c) => events.push([type, c.eventSeq ?? c.seq]));
    await back.connect();
    await waitFor(() => events.length >= 3, () => `3 replayed changes (got ${JSON.stringify(events)})`);
    await alice.send(chat, 'after');
    await waitFor(() => events.some(([t]) => t === 'NewMessage'), 'the live message');
    assert.deepEqual(events.map(([t]) => t), ['MessageEdited', 'Reaction', 'MessageDeleted', 'NewMessage']);
    const seqs = events.map(([, s]) => s);
    assert.deepEqual(seqs, [...seqs].sort((p, q) => p - q), 'in stream order');
  });
});
