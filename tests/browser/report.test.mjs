// `kindling report` in a real browser: headless Chromium (Debian's package) opens the HTML file
// the demo's store gives, with every network request refused. The charts render, their data
// points are the figures `kindling kpis --json` answers for the same query, no script fails, and
// on a phone's width nothing runs off the side.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { KINDLING, ROOT, launchChromium } from './harness.mjs';

const RANGE = ['--since', '2026-10-19', '--until', '2026-11-15'];
let browser;
let dir;
let kpis;
let file;

function kindling(...args) {
  return execFileSync(KINDLING, ['--config', path.join(ROOT, 'config'), ...args], { encoding: 'utf8' });
}

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kindling-report-'));
  const data = path.join(dir, 'demo');
  kindling('demo', '--data-dir', data);
  file = path.join(dir, 'report.html');
  kindling('report', '--data-dir', data, '--out', file, ...RANGE);
  kpis = JSON.parse(kindling('kpis', '--json', '--data-dir', data, ...RANGE, '--by', 'step,broadcast,variant,owner'));
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function open(width) {
  const context = await browser.newContext({ viewport: { width, height: 800 } });
  const refused = [];
  await context.route('**/*', (route) => {
    if (route.request().url().startsWith('file://')) return route.continue();
    refused.push(route.request().url());
    return route.abort();
  });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`file://${file}`);
  return { page, errors, refused, context };
}

test('the report draws its charts from the same figures as kpis --json, with no network', async () => {
  const { page, errors, refused, context } = await open(1000);
  const charts = await page.evaluate(() =>
    Object.fromEntries(Object.entries(window.kindlingCharts).map(([k, c]) => [k, {
      labels: c.data.labels,
      data: c.data.datasets.map((d) => d.data),
      drawn: c.canvas.width > 0 && c.canvas.height > 0,
    }])),
  );
  assert.deepEqual(errors, []);
  assert.deepEqual(refused, [], 'nothing but the file was asked for');
  for (const c of Object.values(charts)) assert.ok(c.drawn);
  const t = kpis.totals;
  assert.deepEqual(charts.funnel.data, [[
    t.delivery.sent, t.delivery.delivered, t.reaction.opened, t.reaction.clicked,
    t.conversion.mqls, t.conversion.opportunities, t.final.won,
  ]]);
  assert.ok(t.delivery.sent > 0, 'the demo sent mail');
  assert.deepEqual(charts.stages.data, [kpis.stages.map((s) => s.entered)]);
  const pct = (r) => (r === null ? null : Math.round(r * 1000) / 10);
  assert.deepEqual(charts.trends.labels, kpis.periods.map((p) => p.start));
  assert.deepEqual(charts.trends.data, [
    kpis.periods.map((p) => pct(p.figures.reaction.open_rate)),
    kpis.periods.map((p) => pct(p.figures.reaction.ctr)),
    kpis.periods.map((p) => pct(p.figures.reaction.unsubscribe_rate)),
  ]);
  // The tables: every step of the breakdown, in the program's language.
  const body = await page.textContent('body');
  for (const row of kpis.breakdowns.step) assert.ok(body.includes(row.value), row.value);
  // The follow-up of the hand-offs, per owner: the demo's Sato went to takeda, nobody marked him.
  assert.ok(kpis.breakdowns.owner.length > 0, 'the demo routed a hot lead');
  for (const row of kpis.breakdowns.owner) {
    assert.ok(body.includes(row.value), row.value);
    assert.equal(row.figures.follow_up.escalations, 1, JSON.stringify(row.figures.follow_up));
  }
  assert.match(body, /営業フォロー/);
  assert.match(body, /KPIレポート/);
  assert.match(body, /診断: \d+\/15/);
  await context.close();
});

test('on a phone the page fits its width', async () => {
  const { page, errors, context } = await open(375);
  assert.deepEqual(errors, []);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page is ${overflow}px wider than the screen`);
  await context.close();
});
