// Accessibility: axe-core (WCAG 2 A/AA rules) finds no serious or critical violation in the main
// states of the playground, and every button and form control has an accessible name.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, launchBrowser, openPage, repoRoot } from './harness.mjs';

const AXE = fs.readFileSync(path.join(repoRoot, 'node_modules/axe-core/axe.min.js'), 'utf8');
let server, browser;
before(async () => { server = await startServer(); browser = await launchBrowser(); });
after(async () => { await browser?.close(); await server?.close(); });

async function axe(page) {
  await page.addScriptTag({ content: AXE });
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa'] } });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }));
  });
  return result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

async function ready(page) {
  await page.getByRole('button', { name: 'Step', exact: true }).waitFor({ timeout: 20000 });
}

test('no serious accessibility violations on the opening page, after stepping, and in each panel', async () => {
  const { page, context } = await openPage(browser, server.url);
  await ready(page);
  const found = {};
  found.opening = await axe(page);
  for (let i = 0; i < 5; i++) await page.getByRole('button', { name: 'Step', exact: true }).click();
  found.stepped = await axe(page);
  for (const tab of ['Metrics', 'Inspector', 'Text']) {
    const control = page.getByRole('tab', { name: tab }).or(page.getByRole('button', { name: tab, exact: true })).first();
    if (await control.count()) { await control.click(); found[tab] = await axe(page); }
  }
  await context.close();
  const all = Object.entries(found).filter(([, v]) => v.length);
  assert.deepEqual(all, [], JSON.stringify(all, null, 2));
});

test('no serious accessibility violations at phone width', async () => {
  const { page, context } = await openPage(browser, server.url, { viewport: { width: 390, height: 844 } });
  await ready(page);
  const violations = await axe(page);
  await context.close();
  assert.deepEqual(violations, [], JSON.stringify(violations, null, 2));
});

test('every button and form control has an accessible name', async () => {
  const { page, context } = await openPage(browser, server.url);
  await ready(page);
  const unnamed = await page.evaluate(() => {
    const els = [...document.querySelectorAll('button, input, select, textarea, [role=button], [role=tab]')];
    return els.filter((el) => {
      if (el.type === 'hidden' || el.closest('[hidden]')) return false;
      const label = el.getAttribute('aria-label') || el.getAttribute('aria-labelledby') || el.title
        || (el.labels && el.labels.length && el.labels[0].textContent.trim()) || el.textContent.trim();
      return !label;
    }).map((el) => el.outerHTML.slice(0, 120));
  });
  await context.close();
  assert.deepEqual(unnamed, []);
});
