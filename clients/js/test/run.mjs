// npm test's runner: node --test over test/*.test.mjs, with Node 20's
// WebSocket switched on (--experimental-websocket; Node 22+ has it by
// default). The tests use the platform's WebSocket, as browsers do: the
// package has no dependencies, the tests none at run time either.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = path.dirname(fileURLToPath(import.meta.url));
const files = fs.readdirSync(dir).filter((f) => f.endsWith('.test.mjs')).sort().map((f) => path.join(dir, f));
const flags = typeof globalThis.WebSocket === 'function' ? [] : ['--experimental-websocket'];
const res = spawnSync(process.execPath, [...flags, '--test', ...process.argv.slice(2), ...files], { stdio: 'inherit' });
process.exit(res.status ?? 1);
