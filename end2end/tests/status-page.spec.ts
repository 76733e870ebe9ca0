import { test, expect, Page } from '@playwright/test';

/** Collects everything that would mean the page is broken: console errors, page errors, failed requests. */
function watchForErrors(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console: ${msg.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  page.on('requestfailed', (req) => problems.push(`requestfailed: ${req.url()} ${req.failure()?.errorText}`));
  page.on('response', (res) => {
    if (res.status() >= 400) problems.push(`http ${res.status()}: ${res.url()}`);
  });
  return problems;
}

test('the page hydrates: the diagnostics tab opens without a reload', async ({ page }) => {
  const problems = watchForErrors(page);
  const wasm = page.waitForResponse((r) => r.url().endsWith('.wasm') && r.ok());
  await page.goto('/');
  await wasm;
  await expect(page.getByTestId('rollup-state')).toBeVisible();
  // Wait until the wasm has taken over: the "updated … ago" text only exists after hydration.
  await expect(page.getByTestId('updated')).toContainText('updated');
  await page.evaluate(() => ((window as any).__noReload = true));

  await page.getByTestId('tab-diagnostics').click();
  await expect(page).toHaveURL(/\?tab=diagnostics/);
  await expect(page.getByTestId('tiers')).toBeVisible();
  await expect(page.getByTestId('components')).toContainText('alga-core');
  await expect(page.getByTestId('tab-diagnostics')).toHaveAttribute('aria-selected', 'true');
  expect(await page.evaluate(() => (window as any).__noReload)).toBe(true);

  await page.getByTestId('tab-overview').click();
  await expect(page.getByTestId('rollup')).toBeVisible();
  expect(await page.evaluate(() => (window as any).__noReload)).toBe(true);
  expect(problems).toEqual([]);
});

test('the open page follows the bootstrap live, without a reload', async ({ page }) => {
  const problems = watchForErrors(page);
  await page.goto('/');
  await expect(page.getByTestId('updated')).toContainText('updated');
  await page.evaluate(() => ((window as any).__noReload = true));
  const first = await page.getByTestId('rollup-state').textContent();
  // The demo replays the observed bootstrap at 60x: it ends fully healthy within about a minute.
  await expect(page.getByTestId('rollup-state')).toHaveText('Fully healthy', { timeout: 90_000 });
  expect(first).not.toBe('Fully healthy');
  await expect(page.getByTestId('login-url')).toContainText('http://192.168.64.8:3000');
  expect(await page.evaluate(() => (window as any).__noReload)).toBe(true);
  expect(problems).toEqual([]);
});

test('the status API serves the same document as JSON with an ETag', async ({ request }) => {
  const res = await request.get('/api/status');
  expect(res.status()).toBe(200);
  const doc = await res.json();
  expect(doc.siteId).toBe('appliance-single-node');
  expect(doc.schemaVersion).toBe(1);
  expect(Object.keys(doc.tiers)).toEqual(['platform', 'core', 'bootstrap', 'login', 'background', 'fullHealth']);
  const etag = res.headers()['etag'];
  expect(etag).toBeTruthy();
  const live = await request.get('/livez');
  expect(live.status()).toBe(200);
});
