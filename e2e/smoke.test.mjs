// Foundation smoke test: the built page loads, shows the control bar, and pressing "Step" changes it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, openPage, screenshot } from './harness.mjs';

let server, browser;
before(async () => { server = await startServer(); browser = await launchBrowser(); });
after(async () => { await browser?.close(); await server?.close(); });

test('page loads with the control bar and Step advances the run', async () => {
  const { page, context, errors } = await openPage(browser, server.url);
  await page.getByRole('heading', { name: /Switchboard/ }).first().waitFor({ timeout: 15000 });
  for (const name of ['Play', 'Step', 'Step back', 'Reset']) {
    assert.ok(await page.getByRole('button', { name, exact: true }).isVisible(), `button ${name} visible`);
  }
  const log = page.getByRole('log', { name: 'Event log' });
  await log.waitFor();
  const before = await log.locator('li').count();
  await page.getByRole('button', { name: 'Step', exact: true }).click();
  await page.waitForFunction(
    (n) => document.querySelectorAll('[role=log] li').length > n, before, { timeout: 5000 });
  assert.ok(await page.getByRole('button', { name: 'Step back', exact: true }).isEnabled());
  await screenshot(page, 'smoke-after-step');
  assert.deepEqual(errors, []);
  await context.close();
});
