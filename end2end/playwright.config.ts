import { defineConfig } from '@playwright/test';
import * as fs from 'node:fs';
import * as path from 'node:path';

// Two servers of the release build (and the smoke run's cluster, below), driven in Debian's chromium (never a downloaded browser):
// - demo: the embedded observed bootstrap at 60x, behind a token (login, sessions, live page);
// - live: the collector against a real kube-apiserver started by `testenv`, whose scenario steps
//   the acceptance tests apply one by one.
// scripts/test.sh builds both binaries and sets APPLIANCE_STATUS_BIN and TESTENV_BIN.
import { ports, root, smokeDir, state, tokens } from './tests/env';
const bin = process.env.APPLIANCE_STATUS_BIN;
const testenv = process.env.TESTENV_BIN;
if (!bin || !testenv) {
  throw new Error('APPLIANCE_STATUS_BIN and TESTENV_BIN must be set: run the suite through scripts/test.sh');
}
fs.rmSync(state, { recursive: true, force: true });
fs.mkdirSync(path.join(state, 'live'), { recursive: true });
fs.writeFileSync(path.join(state, 'demo-token'), `${tokens.demo}\n`);
fs.writeFileSync(path.join(state, 'live', 'token'), `${tokens.live}\n`);
// testenv is stopped with SIGTERM, not Playwright's default SIGKILL: it then stops the processes it
// started and removes its API server's directory from /tmp (~125 MB a run was left behind).
const stopTestenv = { signal: 'SIGTERM' as const, timeout: 30_000 };
const site = { LEPTOS_SITE_ROOT: path.join(root, 'target', 'site'), RUST_LOG: 'warn' };

export default defineConfig({
  testDir: './tests',
  timeout: 120_000,
  expect: { timeout: 15_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [['list']],
  outputDir: path.join(root, 'target', 'e2e-results'),
  use: {
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      // Closed network: no background traffic, no component updates.
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    },
  },
  projects: [
    { name: 'demo', testMatch: /demo-.*\.spec\.ts/, use: { baseURL: `http://127.0.0.1:${ports.demo}` } },
    { name: 'live', testMatch: /live-.*\.spec\.ts/, use: { baseURL: `http://127.0.0.1:${ports.live}` } },
    // AC8: a real control plane, kwok, Flux; the test bootstraps and starts the service itself.
    { name: 'smoke', testMatch: /smoke-.*\.spec\.ts/, use: { baseURL: `http://127.0.0.1:${ports.smoke}` } },
  ],
  webServer: [
    {
      // Up to, not including, the bootstrap: it starts while the other projects run.
      command: `${testenv} --smoke --dir ${smokeDir} --control-port ${ports.smokeControl}`,
      gracefulShutdown: stopTestenv,
      url: `http://127.0.0.1:${ports.smokeControl}/ready`,
      reuseExistingServer: false,
      timeout: 600_000,
      stdout: 'ignore',
      stderr: 'pipe',
    },
    {
      command: `${bin} serve --demo --speed 120 --repeat --listen 127.0.0.1:${ports.demo} --token-file ${state}/demo-token --session-idle 6s`,
      url: `http://127.0.0.1:${ports.demo}/readyz`,
      reuseExistingServer: false,
      timeout: 60_000,
      stdout: 'ignore',
      stderr: 'pipe',
      env: site,
    },
    {
      command: `${testenv} --dir ${state}/live --control-port ${ports.control}`,
      gracefulShutdown: stopTestenv,
      url: `http://127.0.0.1:${ports.control}/ready`,
      reuseExistingServer: false,
      timeout: 240_000,
      stdout: 'ignore',
      stderr: 'pipe',
    },
    {
      // Waits for testenv's kubeconfig; probes a stand-in login target, no outside hosts.
      command: `sh -c 'until [ -f ${state}/live/kubeconfig ]; do sleep 0.2; done; exec ${bin} serve --listen 127.0.0.1:${ports.live} --kubeconfig ${state}/live/kubeconfig --token-file ${state}/live/token --login-url http://127.0.0.1:${ports.control}/login-target --dns-check localhost --https-check "" --no-log-tails'`,
      url: `http://127.0.0.1:${ports.live}/readyz`,
      reuseExistingServer: false,
      timeout: 240_000,
      stdout: 'ignore',
      stderr: 'pipe',
      env: site,
    },
  ],
});
