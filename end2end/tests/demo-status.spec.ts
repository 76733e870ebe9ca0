import { test, expect } from '@playwright/test';
import { estimatesShown, logIn, recordEstimates, seriousA11yViolations, watchForErrors } from './helpers';
import * as path from 'node:path';
import { root, tokens } from './env';

test.describe.configure({ mode: 'serial' });

test('the page hydrates: the diagnostics tab opens without a reload', async ({ page }) => {
  const problems = watchForErrors(page);
  const wasm = page.waitForResponse((r) => r.url().endsWith('.wasm') && r.ok());
  await logIn(page, tokens.demo);
  // Sent compressed at build time: brotli or gzip, whichever the browser accepts.
  expect(['br', 'gzip']).toContain((await (await wasm).allHeaders())['content-encoding']);
  await page.evaluate(() => ((window as any).__noReload = true));

  await page.getByTestId('tab-diagnostics').click();
  await expect(page).toHaveURL(/\?tab=diagnostics/);
  await expect(page.getByTestId('tiers')).toBeVisible();
  await expect(page.getByTestId('components')).toContainText('alga-core');
  await expect(page.getByTestId('tab-diagnostics')).toHaveAttribute('aria-selected', 'true');
  expect(await page.evaluate(() => (window as any).__noReload)).toBe(true);

  // Keyboard: the tabs are links, reachable and activated with Enter.
  await page.getByTestId('tab-overview').focus();
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('rollup')).toBeVisible();
  await expect(page).not.toHaveURL(/tab=/);

  // The browser's back and forward buttons move between the tabs, still without a reload.
  await page.goBack();
  await expect(page).toHaveURL(/\?tab=diagnostics/);
  await expect(page.getByTestId('tiers')).toBeVisible();
  await page.goForward();
  await expect(page.getByTestId('rollup')).toBeVisible();
  expect(await page.evaluate(() => (window as any).__noReload)).toBe(true);
  expect(problems).toEqual([]);
});

test('the open page follows the bootstrap live, without a reload', async ({ page }) => {
  test.setTimeout(180_000);
  const problems = watchForErrors(page);
  await logIn(page, tokens.demo);
  await page.evaluate(() => ((window as any).__noReload = true));
  // The demo replays the observed bootstrap at 120x, over and over (about 35 s a round): see it
  // leave "Fully healthy" (a new round starts) and reach it again, all in the same page.
  const state = page.getByTestId('rollup-state');
  await expect(state).not.toHaveText('Fully healthy', { timeout: 60_000 });
  await expect(state).toHaveText('Fully healthy', { timeout: 60_000 });
  await expect(page.getByTestId('login-url')).toContainText('http://192.168.64.8:3000');
  expect(await page.evaluate(() => (window as any).__noReload)).toBe(true);
  expect(problems).toEqual([]);
});

test('the timeline and the estimate: drawn on the diagnostics tab, the estimate while it installs', async ({ page }) => {
  test.setTimeout(180_000);
  const problems = watchForErrors(page);
  await logIn(page, tokens.demo);
  await page.evaluate(() => ((window as any).__noReload = true));
  // The estimate speaks only while it installs with nothing needing action: in the observed
  // bootstrap, the three minutes between the Postgres repair and login (1.5 s a round at 120x).
  // The page keeps what it showed, whenever it showed it.
  await recordEstimates(page);
  await expect.poll(async () => (await estimatesShown(page)).length,
    { timeout: 90_000, intervals: [250] }).toBeGreaterThan(0);
  const estimates = await estimatesShown(page);
  console.log(`demo: estimates shown ${JSON.stringify(estimates)}`);
  expect(estimates.every((e) => /^Login expected (within about|in about) \d/.test(e)), JSON.stringify(estimates)).toBe(true);
  // and why: the basis under it names the bootstrap's typical duration
  await expect(page.getByTestId('estimate-basis')).toContainText('bootstrap-job', { timeout: 90_000 });

  // Once login is ready the diagnostics tab tells how it went, and draws it.
  await expect(page.getByTestId('login-url')).toBeVisible({ timeout: 60_000 });
  await page.getByTestId('tab-diagnostics').click();
  const timeline = page.getByTestId('timeline');
  await expect(page.getByTestId('login-story')).toContainText(
    'login ready 39 min after the start: image pulls 16 min 3 s');
  await expect(timeline.locator('svg.timeline g.bar.image_pull')).toHaveCount(1);
  await expect(timeline.locator('svg.timeline g.bar.job').first()).toBeVisible();
  await expect(timeline.locator('svg.timeline g.marker.ready').first()).toBeVisible();
  await expect(timeline.locator('svg.timeline g.bar.image_pull title')).toContainText('alga-psa-ee:1.0-rc5');
  await timeline.screenshot({ path: path.join(root, 'docs', 'screenshots', 'timeline.png') });
  await timeline.locator('summary').click();
  await expect(page.getByTestId('timeline-spans')).toContainText('pulled 1.8 GB in 16 min 3 s');
  expect(await page.evaluate(() => (window as any).__noReload)).toBe(true);
  expect(problems).toEqual([]);
});

test('the status API takes a bearer token, serves JSON with an ETag, and 304s', async ({ request }) => {
  expect((await request.get('/api/status')).status()).toBe(401);
  expect((await request.get('/api/status', { headers: { Authorization: 'Bearer wrong' } })).status()).toBe(401);
  const res = await request.get('/api/status', { headers: { Authorization: `Bearer ${tokens.demo}` } });
  expect(res.status()).toBe(200);
  const doc = await res.json();
  expect(doc.siteId).toBe('appliance-single-node');
  expect(Object.keys(doc.tiers)).toEqual(['platform', 'core', 'bootstrap', 'login', 'background', 'fullHealth']);
  expect(res.headers()['cache-control']).toBe('no-store');
  const etag = res.headers()['etag'];
  const again = await request.get('/api/status', { headers: { Authorization: `Bearer ${tokens.demo}`, 'If-None-Match': etag } });
  expect([200, 304]).toContain(again.status()); // 304 unless the demo moved on in between
  expect((await request.get('/livez')).status()).toBe(200);
});

test('responses carry the security headers; the app policy allows its wasm and nonce only', async ({ page, request }) => {
  const login = await request.get('/login');
  for (const h of [login.headers()]) {
    expect(h['x-content-type-options']).toBe('nosniff');
    expect(h['referrer-policy']).toBe('no-referrer');
    expect(h['content-security-policy']).toContain("frame-ancestors 'none'");
  }
  const seen = page.waitForResponse((r) => new URL(r.url()).pathname === '/' && r.request().method() === 'GET');
  await logIn(page, tokens.demo);
  const app = await seen;
  const csp = (await app.allHeaders())['content-security-policy'];
  expect(csp).toContain("'wasm-unsafe-eval'");
  expect(csp).toMatch(/script-src 'self' 'nonce-[A-Za-z0-9+/=_-]+'/);
  expect(csp).toContain("frame-ancestors 'none'");
  expect((await app.allHeaders())['cache-control']).toBe('no-store');
});

test('neither tab has a serious or critical accessibility violation, light or dark', async ({ page }) => {
  await logIn(page, tokens.demo);
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.goto('/');
    await expect(page.getByTestId('rollup-state')).toBeVisible();
    expect(await seriousA11yViolations(page), `overview, ${scheme}`).toEqual([]);
    await page.goto('/?tab=diagnostics');
    await expect(page.getByTestId('tiers')).toBeVisible();
    expect(await seriousA11yViolations(page), `diagnostics, ${scheme}`).toEqual([]);
  }
});

test('the overview reads on a phone without sideways scrolling', async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await logIn(page, tokens.demo);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);
});
