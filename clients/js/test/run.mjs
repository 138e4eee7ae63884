// npm test's runner: builds natter (unless NATTER_BIN names a binary),
// then node --test over test/*.test.mjs, with Node 20's WebSocket
// switched on (--experimental-websocket; Node 22+ has it by default). The tests use the platform's WebSocket, as browsers do: the
// package has no dependencies, the tests none at run time either.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = path.dirname(fileURLToPath(import.meta.url));
const files = fs.readdirSync(dir).filter((f) => f.endsWith('.test.mjs')).sort().map((f) => path.join(dir, f));
const flags = typeof globalThis.WebSocket === 'function' ? [] : ['--experimental-websocket'];

// One natter build for all test files (they run in parallel processes).
let built = '';
const env = { ...process.env };
if (!env.NATTER_BIN) {
  built = fs.mkdtempSync(path.join(os.tmpdir(), 'natter-js-bin-'));
  env.NATTER_BIN = path.join(built, 'natter');
  const go = spawnSync('go', ['build', '-o', env.NATTER_BIN, './cmd/natter'], { cwd: path.resolve(dir, '../../..'), stdio: 'inherit' });
  if (go.status !== 0) process.exit(go.status ?? 1);
}
const res = spawnSync(process.execPath, [...flags, '--test', ...process.argv.slice(2), ...files], { stdio: 'inherit', env });
if (built) fs.rmSync(built, { recursive: true, force: true });
process.exit(res.status ?? 1);
