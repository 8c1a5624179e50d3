// kindling.js in a real browser: headless Chromium (Debian's package, never a downloaded build)
// against `kindling serve` with the example site. A visitor in New York views pages (pricing
// among them), starts and abandons the application form, then downloads the white paper. The lead
// report then shows the earlier page views attached to the new lead, its score counting them, the
// form start, and the browser's time zone.

import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, test } from 'node:test';
import { launchChromium, startServer } from './harness.mjs';

const TOKEN = 'browser-test-admin-token-0123456789';
const EMAIL = 'hanako.browser@example.co.jp';

let kindling;
let base;
let browser;
const waitFor = (check, what, ms) => kindling.waitFor(check, what, ms);

async function report() {
  const res = await fetch(`${base}/admin/leads/${encodeURIComponent(EMAIL)}`, {
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  return res.status === 200 ? res.json() : null;
}

before(async () => {
  kindling = await startServer({ KINDLING_ADMIN_TOKEN: TOKEN });
  base = kindling.base;
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  kindling?.server.kill();
});

test("a visitor's pages before the form count for the lead, with the browser's time zone", async () => {
  const context = await browser.newContext({ timezoneId: 'America/New_York', locale: 'en-US' });
  const page = await context.newPage();
  // The browser's side: beacons are text/plain (no CORS preflight). Playwright does not expose
  // sendBeacon bodies, so what they carried is checked in the store below.
  const beacons = [];
  page.on('request', (r) => {
    if (r.url().endsWith('/t/events')) beacons.push(r.headers()['content-type'] ?? '');
  });

  await page.goto(`${base}/index.html?utm_source=newsletter&utm_medium=email&utm_campaign=autumn`);
  await page.goto(`${base}/pricing.html`);
  await page.goto(`${base}/case-study.html`);
  // Start the application form, then leave without submitting.
  await page.goto(`${base}/apply.html`);
  await page.fill('input[name=company]', 'Example Inc.');
  await page.goto(`${base}/whitepaper.html`);
  await page.fill('input[name=email]', EMAIL);
  await page.fill('input[name=name]', 'Hanako Browser');
  await page.fill('input[name=company]', 'Example Inc.');
  await page.check('input[name=consent]');
  await Promise.all([page.waitForURL('**/thanks.html'), page.click('button[type=submit]')]);

  assert.ok(beacons.length >= 6, `beacons: ${beacons.length}`);
  assert.ok(beacons.every((ct) => ct.startsWith('text/plain')), JSON.stringify(beacons));
  const cookie = (await context.cookies()).find((c) => c.name === 'kl_vid');
  assert.ok(cookie, 'the first-party visitor cookie');

  // The lead, once scoring has caught up: pricing 15 (before the form) + download 10.
  const r = await waitFor(async () => {
    const rep = await report();
    return rep && rep.score.total >= 25 ? rep : null;
  }, 'the lead scored');
  assert.equal(r.score.total, 25, JSON.stringify(r.score));
  assert.deepEqual(r.score.breakdown.map((b) => b.rule).sort(), ['document_download', 'pricing_page_view']);
  assert.equal(r.lead.profile.time_zone, 'America/New_York');
  assert.deepEqual(r.visitors, [cookie.value], 'one visitor id across pages: the cookie');
  const acts = r.activities;
  const views = acts.filter((a) => a.kind === 'page_view');
  assert.ok(views.some((a) => a.attrs.page_category === 'pricing'), 'the pricing view, from before the form');
  assert.ok(views.some((a) => a.attrs.page_category === 'case_study'));
  assert.ok(views.some((a) => a.attrs.utm_source === 'newsletter' && a.attrs.utm_campaign === 'autumn'));
  assert.ok(acts.some((a) => a.kind === 'form_started' && a.attrs.form_id === 'consultation'), 'the abandoned application');
  assert.ok(acts.some((a) => a.kind === 'page_leave' && a.attrs.dwell_ms > 0));
  assert.ok(acts.some((a) => a.kind === 'document_download'));
  assert.ok(views.every((a) => a.attrs.time_zone === 'America/New_York'), 'the browser zone on every view');
  await context.close();
});

test('Global Privacy Control: nothing is sent', async () => {
  const context = await browser.newContext({ extraHTTPHeaders: { 'Sec-GPC': '1' } });
  await context.addInitScript(() => Object.defineProperty(navigator, 'globalPrivacyControl', { get: () => true }));
  const page = await context.newPage();
  let sent = 0;
  page.on('request', (r) => { if (r.url().endsWith('/t/events')) sent += 1; });
  await page.goto(`${base}/pricing.html`);
  await page.goto(`${base}/index.html`);
  await page.waitForTimeout(300);
  assert.equal(sent, 0);
  assert.equal((await context.cookies()).find((c) => c.name === 'kl_vid'), undefined);
  await context.close();
});

test('data-beacon sends beacons where it says, not to the origin of the script', async () => {
  // A website on loopback that loads kindling.js from Kindling (another origin) and names itself
  // in data-beacon, as a site names the beacon function's URL: the beacons must come to it.
  const received = [];
  const site = http.createServer((req, res) => {
    if (req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(`<!doctype html><title>Elsewhere</title><script src="${base}/kindling.js" data-beacon="http://${req.headers.host}/"></script>`);
      return;
    }
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      received.push({ method: req.method, url: req.url, type: req.headers['content-type'], body });
      res.writeHead(202, { 'content-type': 'application/json' });
      res.end('{"accepted":1}');
    });
  });
  await new Promise((r) => site.listen(0, '127.0.0.1', r));
  const context = await browser.newContext();
  const page = await context.newPage();
  const toKindling = [];
  page.on('request', (r) => { if (r.url().startsWith(`${base}/t/events`)) toKindling.push(r.url()); });
  try {
    await page.goto(`http://127.0.0.1:${site.address().port}/page.html`);
    await kindling.waitFor(async () => received.length > 0, 'the beacon at data-beacon', 10000);
    const [b] = received;
    assert.equal(b.method, 'POST');
    assert.equal(b.url, '/t/events', 'the trailing slash of data-beacon is not doubled');
    assert.ok(b.type.startsWith('text/plain'), b.type);
    const beacon = JSON.parse(b.body);
    assert.deepEqual(beacon.events.map((e) => e.type), ['page_view']);
    assert.equal(beacon.events[0].title, 'Elsewhere');
    assert.deepEqual(toKindling, [], 'nothing went to the origin kindling.js came from');
  } finally {
    await context.close();
    site.close();
  }
});
