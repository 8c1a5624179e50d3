// What the browser tests share: a free loopback port, `kindling serve` with the example site,
// and Debian's headless Chromium (never a downloaded build).

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium } from 'playwright-core';

export const ROOT = path.resolve(import.meta.dirname, '..', '..');
export const KINDLING = process.env.KINDLING_BIN ?? path.join(ROOT, 'target', 'debug', 'kindling');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/// `kindling serve` on a fresh data directory with `env` added; resolves once it answers.
export async function startServer(env) {
  assert.ok(fs.existsSync(KINDLING), `${KINDLING} is not built (cargo build -p kindling-local)`);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kindling-browser-'));
  const log = [];
  const server = spawn(
    KINDLING,
    ['--config', path.join(ROOT, 'config'), 'serve', '--port', String(port), '--data-dir', dataDir,
      '--site', path.join(ROOT, 'examples', 'site'), '--tick-seconds', '1'],
    { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  server.stdout.on('data', (d) => log.push(String(d)));
  server.stderr.on('data', (d) => log.push(String(d)));
  const s = { server, base, log };
  s.waitFor = (check, what, ms) => waitFor(s, check, what, ms);
  await s.waitFor(async () => (await fetch(`${base}/kindling.js`)).ok, 'kindling serve');
  return s;
}

async function waitFor(s, check, what, ms = 15000) {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch {
      // not yet
    }
    if (s.server.exitCode !== null && s.server.exitCode !== undefined) {
      throw new Error(`kindling serve exited with ${s.server.exitCode}\n${s.log.join('')}`);
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${s.log.join('')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/// Debian's headless Chromium.
export function launchChromium() {
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing (apt-get install chromium)`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
}
