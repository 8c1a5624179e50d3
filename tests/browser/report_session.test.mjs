// The KPI report from `kindling serve` in a real browser, without the admin token in any URL:
// `kindling report --open --api` prints a one-time link; Chromium opens it and lands on
// /admin/report with a session cookie and no ticket in the address; the link does not work a
// second time; nothing else gets the report; the server's log holds neither the token nor the
// ticket.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { KINDLING, ROOT, launchChromium, startServer } from './harness.mjs';

const TOKEN = 'report-session-admin-token-0123456789';
let kindling;
let browser;

before(async () => {
  kindling = await startServer({ KINDLING_ADMIN_TOKEN: TOKEN, KINDLING_LOG: 'debug' });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  kindling?.server.kill();
});

function link() {
  return execFileSync(KINDLING, ['--config', path.join(ROOT, 'config'), '--api', kindling.base, 'report', '--open'], {
    encoding: 'utf8',
    env: { ...process.env, KINDLING_ADMIN_TOKEN: TOKEN },
  }).trim();
}

test('a one-time link opens the report with a session; nothing else does', async () => {
  const url = link();
  assert.ok(url.startsWith(`${kindling.base}/admin/report?ticket=`), url);
  assert.ok(!url.includes(TOKEN));

  const none = await fetch(`${kindling.base}/admin/report`);
  assert.equal(none.status, 401);
  assert.doesNotMatch(await none.text(), /kindlingCharts|KPIレポート/);
  const forged = await fetch(`${kindling.base}/admin/report?ticket=forged`, { redirect: 'manual' });
  assert.equal(forged.status, 401);

  const a = await browser.newContext();
  const page = await a.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  const res = await page.goto(url);
  assert.equal(res.status(), 200);
  assert.equal(page.url(), `${kindling.base}/admin/report`, 'no ticket left in the address');
  assert.match(await page.textContent('h1'), /KPIレポート/);
  assert.equal(await page.evaluate(() => Object.keys(window.kindlingCharts).length), 3);
  assert.deepEqual(errors, []);
  const [cookie] = await a.cookies();
  assert.equal(cookie.name, 'kl_report');
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.sameSite, 'Strict');
  assert.equal(cookie.path, '/admin/report');
  assert.equal((await page.reload()).status(), 200, 'the session holds');
  // The session opens the report only: the admin API still wants the token. (The page itself
  // can ask for nothing: its CSP has no connect-src.)
  const api = await fetch(`${kindling.base}/admin/sending`, { headers: { cookie: `kl_report=${cookie.value}` } });
  assert.equal(api.status, 401);

  const b = await browser.newContext();
  const again = await (await b.newPage()).goto(url);
  assert.equal(again.status(), 401, 'a link works once');
  await a.close();
  await b.close();

  const log = kindling.log.join('');
  assert.match(log, /scheduler run/, 'the server logged at debug level');
  const ticket = new URL(url).searchParams.get('ticket');
  assert.ok(!log.includes(TOKEN), 'the token is in no log line');
  assert.ok(!log.includes(ticket), 'nor the ticket');
});

test('the admin token alone still gets the report, for scripts', async () => {
  const res = await fetch(`${kindling.base}/admin/report`, { headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-security-policy'), /default-src 'none'/);
  assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
  assert.equal(res.headers.get('cache-control'), 'no-store');
});
