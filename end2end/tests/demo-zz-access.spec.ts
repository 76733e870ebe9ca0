import { test, expect } from '@playwright/test';
import { logIn } from './helpers';
import { tokens } from './env';

// Runs after the other demo tests: the lockout at the end locks this address out for 5 minutes.
test.describe.configure({ mode: 'serial' });

test('a wrong token is refused; the right one opens a session; logout ends it', async ({ page, context }) => {
  await page.goto('/');
  await expect(page).toHaveURL(/\/login$/);
  await page.getByTestId('token').fill('not-the-token');
  await page.getByTestId('login').click();
  await expect(page.getByTestId('login-error')).toHaveText('That token is not valid.');

  await logIn(page, tokens.demo);
  const cookie = (await context.cookies()).find((c) => c.name === 'appliance-status');
  expect(cookie, 'a session cookie').toBeTruthy();
  expect(cookie!.httpOnly).toBe(true);
  expect(cookie!.sameSite).toBe('Strict');
  expect(cookie!.value).not.toContain(tokens.demo);
  expect(page.url()).not.toContain(tokens.demo);

  await page.getByTestId('logout').click();
  await expect(page).toHaveURL(/\/login$/);
  // The old cookie is dead on the server too.
  await context.addCookies([cookie!]);
  await page.goto('/');
  await expect(page).toHaveURL(/\/login$/);
});

test('an idle session expires and the open page returns to the login page', async ({ page, context }) => {
  await logIn(page, tokens.demo);
  const cookie = (await context.cookies()).find((c) => c.name === 'appliance-status')!;
  await page.close();
  // The demo server runs with --session-idle 6s.
  await new Promise((r) => setTimeout(r, 7_500));
  const again = await context.newPage();
  await context.addCookies([cookie]);
  await again.goto('/');
  await expect(again).toHaveURL(/\/login$/);
});

test('cross-site posts are refused', async ({ request }) => {
  const res = await request.post('/login', {
    headers: { 'Sec-Fetch-Site': 'cross-site', 'Content-Type': 'application/x-www-form-urlencoded' },
    data: `token=${tokens.demo}`,
  });
  expect(res.status()).toBe(403);
});

test('after five failures the lockout shows, and even the right token waits', async ({ page }) => {
  // Two failures already happened from this address: the wrong token above and the wrong bearer
  // token of demo-status.spec.ts (every door counts against the same limit); at most five in five
  // minutes are answered.
  const answers: string[] = [];
  for (let i = 0; i < 6; i++) {
    await page.goto('/login');
    await page.getByTestId('token').fill(`wrong-${i}`);
    await page.getByTestId('login').click();
    answers.push((await page.getByTestId('login-error').textContent()) ?? '');
  }
  expect(answers.slice(0, 3)).toEqual(Array(3).fill('That token is not valid.'));
  expect(answers[3]).toContain('Too many failed attempts');
  expect(answers[answers.length - 1]).toContain('Too many failed attempts');
  await page.goto('/login');
  await page.getByTestId('token').fill(tokens.demo);
  await page.getByTestId('login').click();
  await expect(page.getByTestId('login-error')).toContainText('Too many failed attempts. Try again in');
});
