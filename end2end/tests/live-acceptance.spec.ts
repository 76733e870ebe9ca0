import { test, expect } from '@playwright/test';
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import * as path from 'node:path';
import { logIn, nextStep, seriousA11yViolations, watchForErrors } from './helpers';
import { ports, root, state, tokens } from './env';

// The PRD's acceptance criteria against the real kube-apiserver: testenv applies the observed
// bootstrap's steps (objects and their status) one by one; the service watches them live.
test.describe.configure({ mode: 'serial' });

async function stepTo(request: any, target: number) {
  let step = 0;
  while (step < target) step = await nextStep(request, ports.control);
}

test('AC 5: the Postgres subPath failure is the top blocker, not the Helm timeout', async ({ page, request }) => {
  const problems = watchForErrors(page);
  await stepTo(request, 4); // DNS, install, 16-minute pull, Helm's 30-minute deadline
  await logIn(page, tokens.live);
  await expect(page.getByTestId('rollup-state')).toHaveText('Failed / action required');
  const top = page.getByTestId('top-issue');
  await expect(top).toContainText('Postgres PVC initialization failed');
  await expect(top).toContainText('db');
  await expect(top).toContainText('Blocks login.');
  await expect(top).not.toContainText('context deadline exceeded');

  await page.getByTestId('tab-diagnostics').click();
  const first = page.getByTestId('blockers').locator('li.blocker').first();
  await expect(first).toHaveAttribute('data-component', 'db');
  await expect(first).toContainText('storage');
  // The timeout is evidence of the lower cause.
  await first.locator('summary').click();
  await expect(first).toContainText('context deadline exceeded');
  expect(problems).toEqual([]);
});

test('AC 6 and live: a step applied to the API server appears in the open page without reload', async ({ page, request }) => {
  const problems = watchForErrors(page);
  await logIn(page, tokens.live);
  await page.evaluate(() => ((window as any).__noReload = true));
  await expect(page.getByTestId('rollup-state')).toHaveText('Failed / action required');
  const applied = Date.now();
  await nextStep(request, ports.control); // support repairs the subPath: Postgres runs
  await expect(page.getByTestId('rollup-state')).toHaveText('Installing', { timeout: 10_000 });
  console.log(`step to page: ${Date.now() - applied} ms`);
  expect(await page.evaluate(() => (window as any).__noReload)).toBe(true);
  await expect(page.getByTestId('tier-progress').locator('[data-tier="CORE_READY"]')).toContainText('(ready)');
  // Installing with nothing needing action: when login is expected, and on what basis.
  await expect(page.getByTestId('estimate')).toContainText(/Login expected (within about|in about) \d+/);
  await page.getByTestId('estimate').locator('summary').click();
  await expect(page.getByTestId('estimate-basis')).toContainText('bootstrap-job: working for');
  expect(problems).toEqual([]);
});

test('AC 3 and 4: background failing and a missing workflow-worker tag read "Ready with background issues"', async ({ page, request }) => {
  await stepTo(request, 7); // bootstrap completes, then background releases come up broken
  await logIn(page, tokens.live);
  await expect(page.getByTestId('rollup-state')).toHaveText('Ready with background issues');
  await expect(page.getByTestId('login-url')).toContainText('http://192.168.64.8:3000');
  await expect(page.getByTestId('background-count')).toContainText('background services need attention');
  const top = page.getByTestId('top-issue');
  await expect(top).toContainText('workflow-worker');
  await expect(top).toContainText('Image tag not found: ghcr.io/nine-minds/workflow-worker:61e4a00e');
  await expect(top).toContainText('Does not block login.');
  await page.screenshot({ path: path.join(root, 'docs', 'screenshots', 'overview.png'), fullPage: true });

  await page.getByTestId('tab-diagnostics').click();
  const wf = page.getByTestId('blockers').locator('li.blocker[data-component="workflow-worker"]');
  await expect(wf).toContainText('does not block login');
  await expect(wf).toContainText('Publish the missing image tag');
});

test('AC 2: the diagnostics tab shows tiers, checks, blockers, components and events from the API server', async ({ page }) => {
  await logIn(page, tokens.live);
  await page.goto('/?tab=diagnostics');
  await expect(page.getByTestId('tiers')).toContainText('LOGIN_READY');
  await expect(page.getByTestId('tiers')).toContainText('Seed data exists');
  await expect(page.getByTestId('components').locator('tr[data-component="temporal-worker"]')).toContainText('0/2');
  await expect(page.getByTestId('release')).toContainText('release/1.0-rc5@sha1:979e2079');
  await expect(page.getByTestId('flux')).toContainText('HelmRelease/alga-system/workflow-worker');
  await expect(page.getByTestId('bootstrap')).toContainText('completed');
  // The timeline from the API server's objects: the measured pull, the bootstrap Job, tiers.
  // (testenv moves each step's times to the moment it applies it, seconds apart, so here the
  // phases' lengths are not the scenario's: the demo checks those.)
  const timeline = page.getByTestId('timeline');
  await expect(page.getByTestId('login-story')).toContainText(/login ready .* after the start: image pulls \d+/);
  await expect(timeline.locator('svg.timeline g.bar.image_pull title')).toContainText('alga-psa-ee:1.0-rc5');
  await expect(timeline.locator('svg.timeline g.bar.job')).not.toHaveCount(0);
  await expect(timeline.locator('svg.timeline g.marker.ready')).not.toHaveCount(0);
  const events = page.getByTestId('events');
  await expect(events).toContainText('not found');
  await page.getByTestId('event-filter').fill('temporal-worker');
  await expect(events.locator('tbody tr:not(.hidden)').first()).toContainText('temporal-worker');
  await page.getByTestId('event-filter').fill('');
  expect(await seriousA11yViolations(page)).toEqual([]);
  await page.screenshot({ path: path.join(root, 'docs', 'screenshots', 'diagnostics.png'), fullPage: true });

  // Support downloads the bundle from the same tab, with the session's cookie.
  const download = page.waitForEvent('download');
  await page.getByTestId('download-bundle').click();
  const file = await download;
  expect(file.suggestedFilename()).toMatch(/^appliance-status-.*\.tar\.gz$/);
  const tar = zlib.gunzipSync(fs.readFileSync(await file.path())).toString('latin1');
  for (const name of ['manifest.json', 'status.json', 'objects.yaml', 'state.json', 'events.txt', 'service.txt']) {
    expect(tar).toContain(`/${name}`);
  }
  expect(tar).toContain('temporal-worker');
  expect(tar).not.toContain(tokens.live);
});

test('a new token ends every session: the open page returns to the login page', async ({ page }) => {
  await logIn(page, tokens.live);
  fs.writeFileSync(path.join(state, 'live', 'token'), 'rotated-token-5d21-0123456789abcdef012\n');
  await expect(page).toHaveURL(/\/login$/, { timeout: 15_000 });
  await logIn(page, 'rotated-token-5d21-0123456789abcdef012');
});
