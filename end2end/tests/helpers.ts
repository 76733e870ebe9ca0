import { expect, Page, APIRequestContext } from '@playwright/test';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Collects what would mean the page is broken: console errors, page errors, failed requests. */
export function watchForErrors(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console: ${msg.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  page.on('requestfailed', (req) => {
    // A navigation away (to the login page, a reload) aborts the poll in flight: not a failure.
    if (req.failure()?.errorText !== 'net::ERR_ABORTED') problems.push(`requestfailed: ${req.url()} ${req.failure()?.errorText}`);
  });
  return problems;
}

/** Logs in through the form and waits for the hydrated overview. */
export async function logIn(page: Page, token: string) {
  await page.goto('/login');
  await page.getByTestId('token').fill(token);
  await page.getByTestId('login').click();
  await expect(page).toHaveURL(/\/$|\/\?/);
  await expect(page.getByTestId('rollup-state')).toBeVisible();
  // "updated … ago" exists only once the wasm has hydrated the page.
  await expect(page.getByTestId('updated')).toContainText('updated');
}

/** Runs axe-core in the page and returns serious or critical violations. */
export async function seriousA11yViolations(page: Page): Promise<string[]> {
  const source = fs.readFileSync(path.join(__dirname, '..', 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');
  // Evaluated over the DevTools protocol, so the page's CSP (nonce-only scripts) does not apply.
  await page.evaluate(source);
  const violations: { id: string; impact: string; help: string; nodes: { target: string[] }[] }[] =
    await page.evaluate(async () => (await (window as any).axe.run(document)).violations);
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
}

/** Applies the live API server's next scenario step; returns its number. */
export async function nextStep(request: APIRequestContext, control: number): Promise<number> {
  const res = await request.post(`http://127.0.0.1:${control}/step`);
  expect(res.ok(), await res.text()).toBe(true);
  return (await res.json()).step;
}

// Keeps, in the page, the text of every estimate it shows (`[data-testid="estimate"] strong`),
// however briefly: an estimate may be on screen for a second only. Read with `estimatesShown`.
export async function recordEstimates(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as any;
    w.__estimates = [];
    new MutationObserver(() => {
      const e = document.querySelector('[data-testid="estimate"] strong');
      if (e && !w.__estimates.includes(e.textContent)) w.__estimates.push(e.textContent);
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
}

export async function estimatesShown(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as any).__estimates ?? []);
}

