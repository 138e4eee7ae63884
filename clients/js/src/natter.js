// natter's JavaScript client: the one module to import. It runs as is in
// browsers and Node 20+ (no build step, no dependencies); types are in
// natter.d.ts beside it.
//
//   import { NatterClient } from 'natter-client';
//   const client = new NatterClient({ url: 'wss://chat.example/ws', token });
//   client.on('NewMessage', (m) => console.log(m.name, m.message));
//   await client.connect();
//   const { chat } = await client.join({ room: '#general' });
//   await client.send(chat, 'hello');

export { NatterClient, MAX_RESUME, TYPING_INTERVAL } from './client.js';
export { NatterError, ClientCodes } from './errors.js';
export { DEFAULT_BACKOFF, delay as backoffDelay } from './backoff.js';
export { TYPING_TTL } from './typing.js';
