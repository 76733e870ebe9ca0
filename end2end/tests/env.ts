import * as path from 'node:path';

/** Ports, tokens and the state directory shared by the config and the tests (no side effects). */
export const root = path.resolve(__dirname, '..', '..');
export const ports = { demo: 18080, live: 18081, control: 18082, smoke: 18083, smokeControl: 18084 };
export const state = process.env.E2E_STATE ?? path.join(root, 'target', 'e2e-state');
/** The smoke run's directory: testenv --smoke empties it when it starts; the config must not wipe
 * it (workers load the config again, after the web servers started). */
export const smokeDir = path.join(root, 'target', 'e2e-smoke');
export const tokens = { demo: 'demo-token-7f3a-0123456789abcdef0123', live: 'live-token-91c2-0123456789abcdef0123' };
