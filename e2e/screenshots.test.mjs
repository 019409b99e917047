// Screenshots of the playground's main states, written to e2e/screenshots/ for a person to look at:
// empty canvas, a preset mid-run, a FIFO group blocked, a crashed service, the metrics panel, phone width.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, openPage, screenshot } from './harness.mjs';

let server, browser;
// Chromium reports a missing /favicon.ico as a console error; it says nothing about the app.
const appErrors = (errors) => errors.filter((e) => !/Failed to load resource.*404/.test(e));
before(async () => { server = await startServer(); browser = await launchBrowser(); });
after(async () => { await browser?.close(); await server?.close(); });

const btn = (page, name) => page.getByRole('button', { name, exact: true });

async function open(viewport) {
  const o = await openPage(browser, server.url, viewport ? { viewport } : undefined);
  await btn(o.page, 'Step').waitFor({ timeout: 20000 });
  return o;
}

async function loadPreset(page, pattern) {
  await btn(page, 'Presets').click();
  const dialog = page.getByRole('dialog', { name: 'Presets' });
  await dialog.waitFor();
  const item = dialog.locator('button.preset').filter({ hasText: pattern }).first();
  if (!(await item.count())) { await page.keyboard.press('Escape'); return false; }
  await item.click();
  // Presets other than the welcome tour are fetched: the gallery closes when one has loaded.
  await dialog.waitFor({ state: 'detached' });
  return true;
}

/** Plays at high speed until `done()` holds in the page (or the run ends), then pauses. */
async function playUntil(page, done, arg, timeout = 15000) {
  await page.getByLabel('Speed').selectOption({ label: '8×' });
  await btn(page, 'Play').click();
  await page.waitForFunction(done, arg, { timeout }).catch(() => {});
  if (await btn(page, 'Pause').count()) await btn(page, 'Pause').click();
}

test('screenshot: empty canvas after New', async () => {
  const { page, context, errors } = await open();
  await btn(page, 'New').click();
  await page.waitForFunction(() => document.querySelectorAll('svg.topology .node').length === 0);
  await screenshot(page, 'empty');
  assert.deepEqual(appErrors(errors), []);
  await context.close();
});

test('screenshot: the welcome preset mid-run with messages moving', async () => {
  const { page, context, errors } = await open();
  await page.getByLabel('Speed').selectOption({ label: '1×' });
  await btn(page, 'Play').click();
  await page.waitForFunction(() => document.querySelectorAll('[role=log] li').length > 12, null, { timeout: 15000 });
  await screenshot(page, 'preset-mid-run');
  await btn(page, 'Pause').click();
  assert.deepEqual(appErrors(errors), []);
  await context.close();
});

test('screenshot: a FIFO group blocked behind its in-flight head', async () => {
  const { page, context, errors } = await open();
  const found = await loadPreset(page, /FIFO|head-of-line/i);
  assert.ok(found, 'a FIFO preset is in the gallery');
  await page.getByRole('button', { name: 'Close the tour' }).click().catch(() => {});
  await playUntil(page, () => document.querySelector('.node.fifo .lane.blocked') || [...document.querySelectorAll('[role=log] li')].some((li) => /held|blocked/i.test(li.textContent)));
  await screenshot(page, 'fifo-blocked');
  assert.deepEqual(appErrors(errors), []);
  await context.close();
});

test('screenshot: a crashed service', async () => {
  const { page, context, errors } = await open();
  for (let i = 0; i < 8; i++) await btn(page, 'Step').click();
  await page.locator('svg.topology g.node.service').last().click();
  await btn(page, 'Crash service').click();
  await page.waitForSelector('svg.topology g.node.service.crashed');
  await playUntil(page, () => document.querySelectorAll('[role=log] li').length > 30);
  await screenshot(page, 'crashed-service');
  assert.deepEqual(appErrors(errors), []);
  await context.close();
});

test('screenshot: the metrics panel after a run', async () => {
  const { page, context, errors } = await open();
  await page.getByRole('button', { name: 'Close the tour' }).click();
  await playUntil(page, () => /event ([4-9]\d|\d{3,})/.test(document.querySelector('.controls output').textContent));
  await page.getByRole('tab', { name: 'Metrics' }).click();
  await page.getByRole('region', { name: 'Metrics' }).waitFor();
  await screenshot(page, 'metrics');
  assert.deepEqual(appErrors(errors), []);
  await context.close();
});

test('screenshot: phone portrait 390x844', async () => {
  const { page, context, errors } = await open({ width: 390, height: 844 });
  for (let i = 0; i < 6; i++) await btn(page, 'Step').click();
  await screenshot(page, 'phone');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `no horizontal scrolling at phone width (overflow ${overflow}px)`);
  // The topology is drawn turned and fills the width: nodes are wide enough to read.
  const node = await page.locator('svg.topology g.node.service rect').first().boundingBox();
  assert.ok(node.width >= 90, `a service box is ${node.width}px wide on a phone`);
  // The panels fold away under the stage and come back.
  await page.getByRole('button', { name: 'Hide' }).click();
  await page.waitForSelector('aside.side.collapsed');
  assert.equal(await page.getByRole('log', { name: 'Event log' }).count(), 0);
  await page.getByRole('button', { name: 'Show' }).click();
  await page.getByRole('log', { name: 'Event log' }).waitFor();
  assert.deepEqual(appErrors(errors), []);
  await context.close();
});

test('screenshot: the inspector editing a subscription filter policy, with a validation message', async () => {
  const { page, context, errors } = await open();
  await page.getByRole('button', { name: 'Close the tour' }).click();
  await page.locator('svg.topology g.edge.subscribe').first().focus();
  await page.keyboard.press('Enter');
  const policy = page.getByLabel('Filter policy (JSON)');
  await policy.fill('{"type": ["order.shipped"], "region": "eu"}');
  await policy.press('Tab');
  await page.locator('.field.invalid .field-error').waitFor();
  await screenshot(page, 'inspector-filter-policy');
  assert.deepEqual(appErrors(errors), []);
  await context.close();
});

test('screenshot: a fan-out journey selected (every copy highlighted)', async () => {
  const { page, context, errors } = await open();
  await page.getByRole('button', { name: 'Close the tour' }).click();
  const hasAudit = () => page.evaluate(() => [...document.querySelectorAll('[role=log] li')].some((li) => /audit/.test(li.textContent) && li.querySelector('button.msg')));
  for (let i = 0; i < 40 && !(await hasAudit()); i++) {
    for (let k = 0; k < 5; k++) await btn(page, 'Step').click();
  }
  await page.locator('[role=log] li').filter({ hasText: 'audit' }).filter({ has: page.locator('button.msg') }).first().locator('button.msg').click();
  await page.locator('section.journey').waitFor();
  await screenshot(page, 'journey');
  assert.deepEqual(appErrors(errors), []);
  await context.close();
});
