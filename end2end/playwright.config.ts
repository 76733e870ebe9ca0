import { defineConfig } from '@playwright/test';
import * as path from 'node:path';

// The suite drives Debian's chromium (never a downloaded browser) against the release build,
// which scripts/test.sh builds with `cargo leptos build --release` (wasm-opt included).
const port = Number(process.env.E2E_PORT ?? 18080);
const root = path.resolve(__dirname, '..');
const bin = process.env.APPLIANCE_STATUS_BIN;
if (!bin) {
  throw new Error('APPLIANCE_STATUS_BIN is not set: run the suite through scripts/test.sh');
}

export default defineConfig({
  testDir: './tests',
  timeout: 120_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [['list']],
  outputDir: path.join(process.env.E2E_OUTPUT ?? path.join(root, 'target', 'e2e-results')),
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      // Closed network: no background traffic, no component updates.
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    },
  },
  webServer: {
    // The embedded observed-bootstrap demo at 60x: about a minute from DNS failure to fully healthy.
    command: `${bin} serve --demo --speed 60 --listen 127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}/readyz`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: 'ignore',
    stderr: 'pipe',
    env: { LEPTOS_SITE_ROOT: path.join(root, 'target', 'site'), RUST_LOG: 'info' },
  },
});
