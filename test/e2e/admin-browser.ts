/**
 * Shared set-up for the admin UI browser tests: a real Plinth with no superuser yet (so the first-run
 * install link works), Debian's Chromium driven by playwright-core, and a place for screenshots.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import type { App } from '../../src/app.js';
import { openTestApp, serveApp } from '../helpers/server.js';

export const CHROMIUM_PATH = process.env.PLINTH_CHROMIUM ?? '/usr/bin/chromium';
export const ARTIFACTS_DIR = join(process.cwd(), 'test-artifacts', 'admin');

/**
 * Checks the browser tests can run. They need Debian's Chromium (`.ci/run` installs it); without it
 * the suite fails with a clear message rather than skipping, so a missing browser never passes as green.
 */
export function requireBrowser(): void {
  if (existsSync(CHROMIUM_PATH)) return;
  throw new Error(`Chromium not found at ${CHROMIUM_PATH}: install it with "apt-get install -y chromium" (.ci/run does it)`);
}

export async function launchBrowser(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
}

export interface BareServer {
  url: string;
  app: App;
  /** A fresh install token, as `plinth serve` prints in its link. */
  installToken(): Promise<string>;
  close(): Promise<void>;
}

/** A server on a loopback port with an empty database: no superuser, rate limits off. */
export async function startBareServer(): Promise<BareServer> {
  const dir = mkdtempSync(join(tmpdir(), 'plinth-admin-'));
  // Metrics on, as in startServer (off by default in production), so the Settings → Metrics page can be checked end to end.
  const app = await openTestApp({ dataDir: join(dir, 'data'), migrationsDir: join(dir, 'migrations'), metrics: { enabled: true } });
  await app.settings.update({ rateLimits: { enabled: false } });
  const served = await serveApp(app);
  return {
    url: served.url,
    app,
    async installToken() {
      const token = await served.server.installer.issue();
      if (!token) throw new Error('a superuser already exists');
      return token;
    },
    async close() {
      await served.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function screenshotPath(name: string): string {
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  return join(ARTIFACTS_DIR, `${name}.png`);
}
