// The playground end to end, in headless Chromium against the built dist/: run, step, step back,
// presets and their tour, breaking a service, sharing a link, autosave, and building from the palette.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, openPage } from './harness.mjs';

let server, browser;
// Chromium reports a missing /favicon.ico as a console error; it says nothing about the app.
const appErrors = (errors) => errors.filter((e) => !/Failed to load resource.*404/.test(e));
before(async () => { server = await startServer(); browser = await launchBrowser(); });
after(async () => { await browser?.close(); await server?.close(); });

const btn = (page, name) => page.getByRole('button', { name, exact: true });
const logItems = (page) => page.locator('[role=log][aria-label="Event log"] li:not(.earlier)');
const position = async (page) => Number((await page.locator('.controls output').textContent()).match(/event (\d+)/)[1]);

/** Waits until the control bar shows event `n` (renders are scheduled, not synchronous). */
async function atEvent(page, n) {
  await page.waitForFunction((n) => new RegExp(`event ${n} `).test(document.querySelector('.controls output').textContent), n, { timeout: 5000 }).catch(() => {});
  assert.equal(await position(page), n);
}

async function ready(page) {
  await btn(page, 'Step').waitFor({ timeout: 20000 });
  await page.getByRole('log', { name: 'Event log' }).waitFor();
}

async function fresh(url = server.url) {
  const opened = await openPage(browser, url);
  await ready(opened.page);
  return opened;
}

test('opens on the welcome preset; Step grows the log and Step back undoes it', async () => {
  const { page, context, errors } = await fresh();
  assert.match(await page.locator('.scenario-title').textContent(), /\S/);
  assert.ok(await page.locator('svg.topology .node').count() > 0, 'the welcome preset has nodes');
  assert.ok(await btn(page, 'Step back').isDisabled(), 'nothing to step back at the start');
  for (let i = 0; i < 3; i++) await btn(page, 'Step').click();
  await page.waitForFunction(() => document.querySelectorAll('[role=log] li:not(.earlier)').length >= 3);
  assert.equal(await position(page), 3);
  const third = await logItems(page).last().textContent();
  assert.match(third, /\d+\.\d{3}s/, 'each entry shows its time');
  await btn(page, 'Step back').click();
  await page.waitForFunction(() => document.querySelectorAll('[role=log] li:not(.earlier)').length === 2);
  assert.equal(await position(page), 2);
  await page.keyboard.press('ArrowRight');
  await page.waitForFunction(() => document.querySelectorAll('[role=log] li:not(.earlier)').length === 3);
  assert.equal(await logItems(page).last().textContent(), third, 'same seed, same event');
  await btn(page, 'Reset').click();
  assert.equal(await position(page), 0);
  assert.deepEqual(appErrors(errors), []);
  await context.close();
});

test('Play becomes Pause, runs without freezing, and Pause stops the run', async () => {
  const { page, context, errors } = await fresh();
  // The welcome tour pauses at its steps; closed, it lets the run go on.
  await page.getByRole('button', { name: 'Close the tour' }).click();
  await page.getByLabel('Speed').selectOption({ label: '2×' });
  await btn(page, 'Play').click();
  await btn(page, 'Pause').waitFor();
  await page.waitForFunction(() => /event ([1-9]\d*)/.test(document.querySelector('.controls output').textContent), null, { timeout: 10000 });
  // The page stays responsive while playing: a frame callback runs promptly.
  const frameMs = await page.evaluate(() => new Promise((r) => { const t = performance.now(); requestAnimationFrame(() => r(performance.now() - t)); }));
  assert.ok(frameMs < 250, `a frame came after ${frameMs} ms`);
  await btn(page, 'Pause').click();
  await btn(page, 'Play').waitFor();
  const n = await position(page);
  await page.waitForTimeout(400);
  assert.equal(await position(page), n, 'paused means no more events');
  // Scrubbing the timeline to an earlier event and clicking a log entry both seek.
  await page.getByLabel('Timeline').fill('1');
  assert.equal(await position(page), 1);
  await btn(page, 'Step').click();
  await btn(page, 'Step').click();
  await logItems(page).first().locator('button.jump').click();
  assert.equal(await position(page), 1);
  assert.deepEqual(appErrors(errors), []);
  await context.close();
});

test('a preset from the gallery plays its guided tour with Next and Previous', async () => {
  const { page, context, errors } = await fresh();
  await btn(page, 'Presets').click();
  const dialog = page.getByRole('dialog', { name: 'Presets' });
  await dialog.waitFor();
  const presets = dialog.locator('button.preset');
  assert.ok(await presets.count() >= 2, 'the gallery lists presets');
  // Pick a preset other than the first (welcome), whose tour has at least two steps.
  let opened = false;
  for (let i = 1; i < await presets.count() && !opened; i++) {
    await presets.nth(i).click();
    // Presets other than the welcome tour are fetched: the gallery closes when one has loaded.
    await dialog.waitFor({ state: 'detached' });
    const tour = page.getByRole('complementary', { name: 'Guided tour' });
    if (await tour.count() && await btn(page, 'Next').isEnabled()) { opened = true; break; }
    await btn(page, 'Presets').click();
  }
  assert.ok(opened, 'some preset has a multi-step tour');
  const tour = page.getByRole('complementary', { name: 'Guided tour' });
  const first = await tour.locator('h2').textContent();
  await btn(page, 'Next').click();
  await page.waitForFunction((t) => document.querySelector('.tour h2')?.textContent !== t, first);
  assert.match(await tour.locator('.count').textContent(), /^2 \//);
  await btn(page, 'Previous').click();
  assert.equal(await tour.locator('h2').textContent(), first);
  assert.deepEqual(appErrors(errors), []);
  await context.close();
});

test('crashing a service shows it broken and logs the fault; restart heals it', async () => {
  const { page, context, errors } = await fresh();
  const service = page.locator('svg.topology g.node.service').first();
  const name = (await service.getAttribute('aria-label')).replace(/^Service /, '').split(',')[0];
  await service.click();
  await btn(page, 'Crash service').click();
  await page.waitForSelector('svg.topology g.node.service.crashed');
  assert.match(await page.locator('svg.topology g.node.service.crashed').first().getAttribute('aria-label'), /crashed/);
  await page.getByRole('tab', { name: 'Log' }).click();
  await page.waitForFunction((n) => [...document.querySelectorAll('[role=log] li.fault')].some((li) => li.textContent.includes(n)), name);
  assert.match(await page.getByRole('region', { name: 'Faults' }).textContent(), new RegExp(name));
  await service.click();
  await btn(page, 'Restart service').click();
  await page.waitForFunction(() => !document.querySelector('svg.topology g.node.service.crashed'));
  assert.deepEqual(appErrors(errors), []);
  await context.close();
});

test('Copy link opens the same system at the same event in a fresh page', async () => {
  const { page, context, errors } = await fresh();
  for (let i = 0; i < 5; i++) await btn(page, 'Step').click();
  const lastEntry = await logItems(page).last().textContent();
  const title = await page.locator('.scenario-title').textContent();
  await btn(page, 'Copy link').click();
  await page.waitForFunction(() => location.hash.startsWith('#z='));
  const url = page.url();
  await context.close();
  const other = await openPage(browser, url);
  await ready(other.page);
  assert.equal(await position(other.page), 5);
  assert.equal(await other.page.locator('.scenario-title').textContent(), title);
  assert.equal(await logItems(other.page).last().textContent(), lastEntry);
  assert.deepEqual(appErrors(errors), []);
  assert.deepEqual(appErrors(other.errors), []);
  await other.context.close();
});

test('a hostile link gives a clear message and the app keeps working', async () => {
  const { page, context, errors } = await fresh(server.url + '#z=%%%garbage&seed=x');
  await page.getByRole('status').filter({ hasText: 'could not be opened' }).waitFor();
  await btn(page, 'Step').click();
  assert.equal(await position(page), 1);
  assert.deepEqual(appErrors(errors), []);
  await context.close();
});

test('build a small system from the palette, run it, and find it again after a reload', async () => {
  const { page, context, errors } = await fresh();
  await btn(page, 'New').click();
  await page.waitForFunction(() => document.querySelectorAll('svg.topology .node').length === 0);
  await btn(page, 'Add service').click();
  await btn(page, 'Add queue').click();
  await btn(page, 'Add service').click();
  assert.equal(await page.locator('svg.topology .node').count(), 3);
  // Connect by dragging from a node's handle to another node, then pick the link kind.
  const connect = async (from, to, kind) => {
    const a = page.locator(`svg.topology g.node[aria-label^="${from}"] .handle`);
    const b = page.locator(`svg.topology g.node[aria-label^="${to}"] > :first-child`);
    await page.locator(`svg.topology g.node[aria-label^="${from}"]`).hover();
    const ab = await a.boundingBox(); const bb = await b.boundingBox();
    await page.mouse.move(ab.x + ab.width / 2, ab.y + ab.height / 2);
    await page.mouse.down();
    await page.mouse.move(bb.x + bb.width / 2, bb.y + bb.height / 2, { steps: 8 });
    await page.mouse.up();
    await page.getByRole('dialog', { name: 'Choose the link kind' }).waitFor();
    await btn(page, kind).click();
  };
  await connect('Service service1', 'Queue queue1', 'send');
  await connect('Queue queue1', 'Service service2', 'consume');
  await page.waitForFunction(() => document.querySelectorAll('svg.topology g.edge').length === 2);
  await page.getByRole('tab', { name: 'Text' }).click();
  const text = await page.locator('#scenario-text').inputValue();
  assert.match(text, /producer:/);
  assert.match(text, /consumer:/);
  // Undo removes the consumer link; Redo brings it back.
  await btn(page, 'Undo').click();
  await page.waitForFunction(() => document.querySelectorAll('svg.topology g.edge').length === 1);
  await btn(page, 'Redo').click();
  await page.waitForFunction(() => document.querySelectorAll('svg.topology g.edge').length === 2);
  // Run it: messages are sent and handled.
  await page.getByRole('tab', { name: 'Log' }).click();
  for (let i = 0; i < 12; i++) await btn(page, 'Step').click();
  assert.ok(await logItems(page).count() >= 12);
  // Reload: the autosaved system comes back.
  await page.reload();
  await ready(page);
  assert.equal(await page.locator('svg.topology .node').count(), 3);
  assert.equal(await page.locator('svg.topology g.edge').count(), 2);
  assert.deepEqual(appErrors(errors), []);
  await context.close();
});

test('keyboard: shortcuts work and the help overlay lists them', async () => {
  const { page, context, errors } = await fresh();
  await page.locator('body').click({ position: { x: 5, y: 5 } }).catch(() => {});
  await page.keyboard.press('?');
  const help = page.getByRole('dialog', { name: 'Keyboard shortcuts' });
  await help.waitFor();
  for (const k of ['Space', '→', '←', 'R']) assert.match(await help.textContent(), new RegExp(k));
  await page.keyboard.press('Escape');
  await help.waitFor({ state: 'detached' });
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowRight');
  await atEvent(page, 2);
  await page.keyboard.press('ArrowLeft');
  await atEvent(page, 1);
  await page.keyboard.press('r');
  await atEvent(page, 0);
  assert.deepEqual(appErrors(errors), []);
  await context.close();
});

test('Export PNG downloads a picture of the canvas (topology and dots)', async () => {
  const { page, context, errors } = await fresh();
  for (let i = 0; i < 3; i++) await btn(page, 'Step').click();
  const [download] = await Promise.all([page.waitForEvent('download'), btn(page, 'Export PNG').click()]);
  assert.match(download.suggestedFilename(), /\.png$/);
  const fs = await import('node:fs');
  const bytes = fs.readFileSync(await download.path());
  assert.deepEqual([...bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'a PNG file');
  assert.ok(bytes.length > 5000, `the image has content (${bytes.length} bytes)`);
  assert.deepEqual(appErrors(errors), []);
  await context.close();
});

test('a subscription filter policy is edited as JSON with the validation beside the field', async () => {
  const { page, context, errors } = await fresh();
  await page.getByRole('button', { name: 'Close the tour' }).click();
  // A horizontal edge has no height for a pointer target; keyboard users select it the same way.
  await page.locator('svg.topology g.edge.subscribe').first().focus();
  await page.keyboard.press('Enter');
  const policy = page.getByLabel('Filter policy (JSON)');
  await policy.waitFor();
  const field = page.locator('.field').filter({ has: policy });
  // Broken JSON: refused, the message sits beside the field, and what was typed stays.
  await policy.fill('{"type": [');
  await policy.press('Tab');
  await field.locator('.field-error').filter({ hasText: /Not valid JSON at line 1/ }).waitFor();
  assert.equal(await policy.inputValue(), '{"type": [');
  assert.equal(await policy.getAttribute('aria-invalid'), 'true');
  // Valid JSON that SNS would refuse (values must be a list): the scenario's validation says why.
  await policy.fill('{"type": "order.created"}');
  await policy.press('Tab');
  await page.waitForFunction(() => /\S/.test(document.querySelector('.field.invalid .field-error')?.textContent || ''));
  assert.doesNotMatch(await field.locator('.field-error').textContent(), /Not valid JSON/);
  // A good policy is applied: the error goes and the scenario text carries the filter.
  await policy.fill('{"type": ["order.created"]}');
  await policy.press('Tab');
  await page.waitForFunction(() => !document.querySelector('.field.invalid'));
  await page.getByRole('tab', { name: 'Text' }).click();
  assert.match(await page.locator('#scenario-text').inputValue(), /filter:[\s\S]*order\.created/);
  assert.deepEqual(appErrors(errors), []);
  await context.close();
});

test('a fan-out journey follows the origin: every topic copy is in one journey', async () => {
  const { page, context, errors } = await fresh();
  await btn(page, 'Presets').click();
  const dialog = page.getByRole('dialog', { name: 'Presets' });
  await dialog.locator('button.preset').filter({ hasText: 'S11' }).click();
  await dialog.waitFor({ state: 'detached' });
  await page.getByRole('button', { name: 'Close the tour' }).click();
  // Step until the "order 1 created" copy reached email-q (the second subscriber it matches).
  const reached = () => page.evaluate(() => [...document.querySelectorAll('[role=log] li')].some((li) => /email-q/.test(li.textContent) && li.querySelector('button.msg')));
  for (let i = 0; i < 30 && !(await reached()); i++) {
    for (let k = 0; k < 10; k++) await btn(page, 'Step').click();
  }
  assert.ok(await reached(), 'a copy reached email-q');
  const entry = logItems(page).filter({ hasText: 'email-q' }).filter({ has: page.locator('button.msg') }).first();
  await entry.locator('button.msg').click();
  const journey = page.locator('section.journey');
  await journey.waitFor();
  const text = await journey.textContent();
  assert.match(text, /billing-q/, 'the billing copy is in the journey');
  assert.match(text, /email-q/, 'the email copy is in the journey');
  const copies = Number((await journey.locator('.copies').textContent()).match(/^(\d+) copies/)[1]);
  assert.ok(copies >= 2, `${copies} copies`);
  assert.deepEqual(appErrors(errors), []);
  await context.close();
});
