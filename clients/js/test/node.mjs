// A real natter node for the tests: built from this repository (or
// NATTER_BIN), started on 127.0.0.1 port 0 with a temp data dir, its
// address read from what it prints, stopped by PID. start() again on the
// same data dir is a node restart (on a new port: the client's url
// option is a function that asks for the current one).

import { execFileSync, spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { NatterClient } from '../src/natter.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const ADDRESS = /open (http:\/\/127\.0\.0\.1:\d+)\/ in a browser/;

/** tmpDir is this test run's temp directory (removed by cleanup()). */
export const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'natter-js-'));

let binary = process.env.NATTER_BIN || '';

/** natterBinary builds natter once (go build) unless NATTER_BIN names one. */
export function natterBinary() {
  if (!binary) {
    binary = path.join(tmpDir, 'natter');
    execFileSync('go', ['build', '-o', binary, './cmd/natter'], { cwd: REPO, stdio: 'inherit' });
  }
  return binary;
}

export class NatterNode {
  constructor(name, extraArgs = []) {
    this.name = name;
    this.dataDir = path.join(tmpDir, name);
    this.log = path.join(tmpDir, `${name}.log`);
    this.args = extraArgs;
    this.proc = null;
    this.http = '';
  }

  get ws() { return this.http.replace(/^http/, 'ws') + '/ws'; }

  /** start runs the node and resolves once it prints its address and /readyz answers 200. */
  async start(timeoutMs = 60_000) {
    const out = fs.openSync(this.log, 'a');
    const proc = spawn(natterBinary(), [
      '--listen', '127.0.0.1:0', '--data-dir', this.dataDir, '--node-id', this.name,
      '--drain-timeout', '2s', ...this.args,
    ], { stdio: ['ignore', 'pipe', out] });
    fs.closeSync(out);
    this.proc = proc;
    const exited = new Promise((resolve) => proc.once('exit', (code, sig) => resolve(`${code ?? sig}`)));
    this.exited = exited;
    let printed = '';
    const address = new Promise((resolve) => {
      proc.stdout.on('data', (b) => {
        fs.appendFileSync(this.log, b);
        printed += b;
        const m = ADDRESS.exec(printed);
        if (m) resolve(m[1]);
      });
    });
    const timer = new AbortController();
    const timeout = sleep(timeoutMs, null, { signal: timer.signal }).then(() => {
      throw new Error(`${this.name}: no address after ${timeoutMs} ms; log:\n${this.tail()}`);
    }, () => {});
    const early = exited.then((code) => { throw new Error(`${this.name} exited (${code}) before listening; log:\n${this.tail()}`); });
    try {
      this.http = await Promise.race([address, early, timeout]);
    } finally {
      timer.abort();
    }
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        if ((await fetch(`${this.http}/readyz`, { signal: AbortSignal.timeout(2000) })).ok) return this;
      } catch { /* not yet */ }
      if (Date.now() > deadline) throw new Error(`${this.name} not ready after ${timeoutMs} ms; log:\n${this.tail()}`);
      await sleep(100);
    }
  }

  /** stop sends SIGTERM (a drain: clients are closed with 1001), SIGKILL if it lingers. */
  async stop() {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    try { process.kill(proc.pid, 'SIGTERM'); } catch { return; }
    const timer = new AbortController();
    const lingers = await Promise.race([this.exited, sleep(10_000, 'timeout', { signal: timer.signal }).catch(() => {})]);
    timer.abort();
    if (lingers === 'timeout') {
      try { process.kill(proc.pid, 'SIGKILL'); } catch { /* gone */ }
      await this.exited;
    }
  }

  tail(lines = 30) {
    try {
      return fs.readFileSync(this.log, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  /** register creates a user through the HTTP API: {user, name, token}. */
  async register(name, password = 'password-' + name) {
    const res = await fetch(`${this.http}/api/users`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name, password }),
    });
    const body = await res.json();
    if (res.status !== 201) throw new Error(`register ${name}: ${res.status} ${JSON.stringify(body)}`);
    return body;
  }
}

/** cleanup removes the temp directory unless a test failed (then its path is printed). */
export function cleanup(failed) {
  if (failed) console.error(`# natter-client tests: logs kept in ${tmpDir}`);
  else fs.rmSync(tmpDir, { recursive: true, force: true });
}

/** waitFor polls cond until it is true or the deadline passes (then throws what describe says). */
export async function waitFor(cond, describe, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${typeof describe === 'function' ? describe() : describe}`);
    await sleep(20);
  }
}

/**
 * nodeSuite holds what the integration suites share against one node:
 * clients made by client() (closed at the end), collect(), unique names,
 * and describe(name, body), which starts the node before the tests, stops
 * it after and keeps its data when a test failed; body gets test(name, fn).
 */
export function nodeSuite(node) {
  const clients = [];
  let failed = false;
  let n = 0;
  const test = (name, fn) => it(name, { timeout: 90_000 }, async (t) => {
    try {
      await fn(t);
    } catch (err) {
      failed = true;
      throw err;
    }
  });
  return {
    unique: (prefix) => `${prefix}-${process.pid}-${++n}`,
    client(opts = {}) {
      const c = new NatterClient({ url: () => node.ws, backoff: { initial: 100, max: 1000 }, ...opts });
      clients.push(c);
      return c;
    },
    // collect records every payload of event on c.
    collect(c, event) {
      const list = [];
      c.on(event, (p) => list.push(p));
      return list;
    },
    describe(name, body) {
      describe(name, { timeout: 240_000 }, () => {
        before(async () => {
          natterBinary();
          await node.start();
        }, { timeout: 180_000 });
        after(async () => {
          for (const c of clients) c.close();
          await node.stop();
          cleanup(failed);
        });
        body(test);
      });
    },
  };
}
