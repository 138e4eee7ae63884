// Sends the node's rate limiter drops (its Error names no frame) are sent
// again until accepted, each stored once.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NatterClient } from '../src/natter.js';
import { NatterNode, cleanup, natterBinary, waitFor } from './node.mjs';

const node = new NatterNode('slow', ['--allow-guests', '--rate-limit', '4', '--rate-burst', '4']);
let client;
let failed = false;

describe('NatterClient under a rate limit', { timeout: 240_000 }, () => {
  before(async () => {
    natterBinary();
    await node.start();
  }, { timeout: 180_000 });

  after(async () => {
    client?.close();
    await node.stop();
    cleanup(failed);
  });

  it('resends the sends the limiter dropped', { timeout: 90_000 }, async () => {
    try {
      client = new NatterClient({ url: node.ws });
      const got = [];
      const limited = [];
      client.on('NewMessage', (m) => got.push(m));
      client.on('Error', (e) => { if (e.code === 'rate_limited') limited.push(e); });
      await client.connect();
      const { chat } = await client.join({ room: '#busy' });
      const texts = Array.from({ length: 16 }, (_, i) => `burst ${i + 1}`);
      const acks = await Promise.all(texts.map((t) => client.send(chat, t)));
      assert.ok(limited.length > 0, 'the limiter dropped some frames');
      assert.equal(new Set(acks.map((a) => a.seq)).size, texts.length, 'each stored once');
      await waitFor(() => got.length === texts.length, () => `${texts.length} messages (got ${got.length})`);
      assert.deepEqual(got.map((m) => m.message).sort(), [...texts].sort());
      const page = await client.history(chat, { limit: 100 });
      assert.deepEqual(page.messages.map((m) => m.message).sort(), [...texts].sort());
    } catch (err) {
      failed = true;
      throw err;
    }
  });
});
