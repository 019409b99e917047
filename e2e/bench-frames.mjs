// Browser benchmark (not a test): frame times with ~3,000 moving message dots in headless Chromium
// without a GPU. Run after `trunk build --release`:  node e2e/bench-frames.mjs
// It imports e2e/bench/stress-3000.yaml, plays it, waits until the links are full, then records
// requestAnimationFrame intervals over 300 frames and prints percentiles as JSON.
// Targets (issue 6): p95 frame interval <= 16.7 ms (60 fps) with 3,000 dots.
import path from 'node:path';
import { startServer, launchBrowser, openPage, repoRoot } from './harness.mjs';

const FRAMES = Number(process.env.FRAMES || 300);
const scenario = path.join(repoRoot, 'e2e/bench/stress-3000.yaml');

const server = await startServer();
const browser = await launchBrowser();
try {
  const { page, errors } = await openPage(browser, server.url, { viewport: { width: 1280, height: 720 } });
  await page.getByRole('button', { name: 'Play', exact: true }).waitFor({ timeout: 20000 });
  await page.locator('input[type=file]').first().setInputFiles(scenario);
  await page.getByText('3,000 messages in flight').first().waitFor({ timeout: 10000 });
  await page.getByRole('button', { name: 'Play', exact: true }).click();
  // Wait until the canvas reports (at least) 2,500 dots, or 20 s.
  const canvas = page.locator('canvas').first();
  const deadline = Date.now() + 20000;
  let dots = 0;
  while (Date.now() < deadline) {
    dots = Number(await canvas.getAttribute('data-dots')) || 0;
    if (dots >= 2500) break;
    await page.waitForTimeout(250);
  }
  const result = await page.evaluate((frames) => new Promise((resolve) => {
    const intervals = [];
    const draws = [];
    const dotCounts = [];
    const c = document.querySelector('canvas');
    let last = performance.now();
    function frame(now) {
      intervals.push(now - last);
      last = now;
      draws.push(Number(c?.getAttribute('data-draw-us') || 0) / 1000);
      dotCounts.push(Number(c?.getAttribute('data-dots') || 0));
      if (intervals.length < frames) requestAnimationFrame(frame); else resolve({ intervals, draws, dotCounts });
    }
    requestAnimationFrame(frame);
  }), FRAMES);
  const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.ceil(p / 100 * s.length) - 1)]; };
  const iv = result.intervals.slice(10);
  const report = {
    frames: iv.length,
    dots_median: pct(result.dotCounts, 50),
    dots_min: Math.min(...result.dotCounts),
    frame_ms: { p50: +pct(iv, 50).toFixed(2), p95: +pct(iv, 95).toFixed(2), p99: +pct(iv, 99).toFixed(2) },
    fps_mean: +(1000 * iv.length / iv.reduce((a, b) => a + b, 0)).toFixed(1),
    rust_update_draw_ms: { p50: +pct(result.draws, 50).toFixed(2), p95: +pct(result.draws, 95).toFixed(2) },
    page_errors: errors,
  };
  console.log(JSON.stringify(report, null, 2));
  if (report.dots_median < 2500) console.error(`only ${report.dots_median} dots in flight: the scenario did not fill the links`);
} finally {
  await browser.close();
  await server.close();
}
