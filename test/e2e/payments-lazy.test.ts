/**
 * The `stripe` SDK is loaded only when a payment call needs it: a child process records every module URL it
 * resolves (a module.register resolve hook); opening the app with payments enabled, serving the public config
 * and refusing a badly signed webhook load nothing from `node_modules/stripe`, and the first Stripe call does.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

describe('the Stripe SDK loads lazily', () => {
  it('is not loaded by start-up, the config endpoint or a refused webhook; the first Stripe call loads it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'plinth-pay-lazy-'));
    try {
      const log = join(dir, 'resolved.log');
      writeFileSync(log, '');
      const hooks = `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  if (r.url.includes('/node_modules/stripe/')) appendFileSync(${JSON.stringify(log)}, r.url + '\\n');
  return r;
}`;
      const dist = pathToFileURL(join(process.cwd(), 'dist', 'src')).href;
      const script = `
import { register } from 'node:module';
import { readFileSync } from 'node:fs';
register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hooks)}));
const { App } = await import('${dist}/app.js');
const { buildServer } = await import('${dist}/http/server.js');
const { silentLogger } = await import('${dist}/util/logger.js');
const app = await App.open({ dataDir: ${JSON.stringify(join(dir, 'data'))}, logger: silentLogger(), payments: { stripe: { apiBase: 'http://127.0.0.1:9', maxNetworkRetries: 0, timeout: 500 } } });
await app.settings.update({ payments: { stripe: { enabled: true, secretKey: 'sk_test_lazy', webhookSecret: 'whsec_lazy', currencies: ['usd'] } } });
await app.payments.ensureCollections();
const server = await buildServer(app);
const config = await server.inject({ method: 'GET', url: '/api/payments/config' });
const hook = await server.inject({ method: 'POST', url: '/api/payments/stripe/webhook', headers: { 'content-type': 'application/json', 'stripe-signature': 't=1,v1=00' }, payload: '{}' });
const before = readFileSync(${JSON.stringify(log)}, 'utf8');
const failed = await app.payments.testConnection().then(() => 'ok', (e) => e.code);
const after = readFileSync(${JSON.stringify(log)}, 'utf8');
console.log(JSON.stringify({ config: config.statusCode, hook: hook.statusCode, before, after: after.length > 0, failed }));
await server.close();
await app.close();
`;
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(r.status, 0, r.stderr);
      const out = JSON.parse(r.stdout.trim().split('\n').at(-1) as string) as Record<string, unknown>;
      assert.equal(out.config, 200);
      assert.equal(out.hook, 400);
      assert.equal(out.before, '', 'nothing from node_modules/stripe before the first Stripe call');
      assert.equal(out.after, true, 'the first Stripe call loads the SDK');
      assert.equal(out.failed, 'payment_provider_error');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
