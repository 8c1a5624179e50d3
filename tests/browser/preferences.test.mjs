// The preference page in a real browser: headless Chromium (Debian's package) against
// `kindling serve`. A lead opens the link of a newsletter mail: every topic is checked and
// nothing changed. It unchecks the newsletter and saves: the store has it out of the newsletter
// only, and the reloaded page shows that. The form is plain HTML: it works without JavaScript.

import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { launchChromium, startServer } from './harness.mjs';

const TOKEN = 'browser-test-admin-token-0123456789';
const EMAIL = 'pref.browser@example.co.jp';
const SECRET = randomBytes(32);

let kindling;
let browser;

async function report() {
  const res = await fetch(`${kindling.base}/admin/leads/${encodeURIComponent(EMAIL)}`, {
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  return res.status === 200 ? res.json() : null;
}

/// The signed link of a mail of `topic` (token.rs: HMAC-SHA256 over the body, 128 bits).
function preferenceLink(leadId, topic) {
  const body = `bt1.ut.${leadId}.${topic}`;
  const sig = createHmac('sha256', SECRET).update(body).digest().subarray(0, 16).toString('base64url');
  return `${kindling.base}/u/${body}.${sig}`;
}

before(async () => {
  kindling = await startServer({
    KINDLING_ADMIN_TOKEN: TOKEN,
    KINDLING_SIGNING_KEYS: `bt1:${SECRET.toString('base64')}`,
  });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  kindling?.server.kill();
});

test('the preference page: GET changes nothing, saving leaves only the unchecked topic', async () => {
  const form = new URLSearchParams({ email: EMAIL, name: 'Pref Browser', company: 'Example Inc.', consent: 'on' });
  const res = await fetch(`${kindling.base}/forms/whitepaper`, { method: 'POST', body: form, redirect: 'manual' });
  assert.ok(res.status < 400, `form: ${res.status}`);
  const r = await kindling.waitFor(report, 'the lead');
  const before = r.lead;
  assert.equal(before.preferences, undefined, 'no choices yet');

  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto(preferenceLink(before.id, 'newsletter'));
  assert.match(await page.textContent('body'), /ニュースレター \/ Newsletter/);
  for (const t of ['newsletter', 'events', 'product_updates']) {
    assert.equal(await page.isChecked(`#topic-${t}`), true, `${t} checked`);
  }
  const seen = (await report()).lead;
  assert.equal(seen.version, before.version, 'GET changed nothing');
  assert.equal(seen.unsubscribed_at, null);

  await page.uncheck('#topic-newsletter');
  await Promise.all([page.waitForURL('**/u/**'), page.click('#save')]);
  assert.match(await page.textContent('#notice'), /保存しました/);
  const saved = (await report()).lead;
  assert.deepEqual(Object.keys(saved.preferences.opted_out), ['newsletter']);
  assert.equal(saved.preferences.history.length, 1);
  assert.equal(saved.preferences.history[0].via, 'page');
  assert.equal(saved.unsubscribed_at, null, 'still gets its other mail');

  await page.reload();
  assert.equal(await page.isChecked('#topic-newsletter'), false);
  assert.equal(await page.isChecked('#topic-events'), true);
  assert.equal(await page.isChecked('#topic-product_updates'), true);
  await context.close();
});
