// Type-checked (tsc -p test), never run: the declarations in
// src/natter.d.ts describe what an application writes, and mistakes are
// caught (each @ts-expect-error must be an error).
import { NatterClient, NatterError, type Message, type MessageAccepted } from 'natter-client';

const client = new NatterClient({ url: 'ws://127.0.0.1:8080/ws', token: () => 'token' });
client.on('NewMessage', (m: Message) => m.seq.toFixed());
client.on('Error', (e) => e.code.toUpperCase());
client.on('state', (s) => { if (s === 'open') return; });
client.on('typers', ({ chat, users }) => users.map((u) => u.name + chat));
const off = client.on('disconnect', (d) => d.code + (d.wasOpen ? 1 : 0));
off();

async function usage(): Promise<void> {
  const welcome = await client.connect();
  welcome.user.toLowerCase();
  const joined = await client.join({ room: '#general' });
  joined.members.members.map((m) => m.online);
  const ack: MessageAccepted = await client.send(joined.chat, 'hi', { replyTo: 1, echo: false });
  ack.duplicate.valueOf();
  const page = await client.history(joined.chat, { before: ack.seq, limit: 10 });
  page.messages[0]?.postedAt.length;
  await client.edit(joined.chat, ack.seq, 'hello');
  await client.react(joined.chat, ack.seq, '👍');
  await client.delete({ chat: joined.chat }, ack.seq);
  client.typing(joined.chat);
  client.markRead(joined.chat, ack.seq);
  const accepted = await client.once('MessageAccepted', (a) => a.seq > 0);
  accepted.clientMsgId.length;
  try {
    await client.leave(joined.chat, { timeout: 1000, signal: AbortSignal.timeout(500) });
  } catch (err) {
    if (err instanceof NatterError) err.code.length;
  }
  // @ts-expect-error: no such event
  client.on('NoSuchEvent', () => {});
  // @ts-expect-error: seq is a number
  await client.edit(joined.chat, '1', 'x');
  // @ts-expect-error: a chat target is required
  await client.history();
}
void usage;
