/**
 * Payments under kill -9: a real `plinth serve` (child process) receives Stripe's `checkout.session.completed`
 * and is killed with SIGKILL inside the `onPaymentSucceeded` hook (a hook file), after the event was received
 * and the order change made but before the transaction committed. The restarted server shows the order still
 * pending and the event not recorded; Stripe's retry of the same event then pays the order once, and the
 * entitlement the hook file writes through `e.app` (in the same transaction) exists exactly once. Runs on SQLite
 * and on PostgreSQL (the file opens its databases itself, so the runner runs it once).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from '../../src/app.js';
import { silentLogger } from '../../src/util/logger.js';
import { BIN, freePort } from '../helpers/cli.js';
import { createTempDatabase, type TempDatabase } from '../helpers/postgres.js';
import { addSuperuser, SUPERUSER_EMAIL, SUPERUSER_PASSWORD } from '../helpers/server.js';
import { STANDIN_SECRET_KEY, STANDIN_WEBHOOK_SECRET, StripeStandin, type Obj } from '../helpers/stripe-standin.js';
import { systemRequest } from '../../src/records/system-request.js';

for (const dialect of ['sqlite', 'postgres'] as const)
  describe(`payments on ${dialect}: kill -9 between receiving a webhook and updating the order`, () => {
    let root: string;
    let stripe: StripeStandin;
    let temp: TempDatabase | undefined;
    let priceId = '';
    let child: ChildProcess | null = null;

    const dbArgs = () => (temp ? [`--db=${temp.url}`] : []);
    const dataDir = () => join(root, 'pb_data');

    /** Starts `plinth serve`; resolves once it answers /api/health. */
    async function serve(port: number): Promise<{ url: string; exited: Promise<NodeJS.Signals | number | null>; output: () => string }> {
      const proc = spawn(process.execPath, [BIN, 'serve', `--dir=${dataDir()}`, `--hooksDir=${join(root, 'hooks')}`, `--http=127.0.0.1:${port}`, ...dbArgs()], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, PLINTH_STRIPE_API_BASE: stripe.url, KILL_MARKER: join(root, 'kill-now'), REACHED: join(root, 'reached') },
      });
      child = proc;
      let out = '';
      proc.stdout!.on('data', (d) => (out += d));
      proc.stderr!.on('data', (d) => (out += d));
      const exited = new Promise<NodeJS.Signals | number | null>((r) => proc.on('exit', (code, signal) => r(signal ?? code)));
      const url = `http://127.0.0.1:${port}`;
      const end = Date.now() + 30_000;
      for (;;) {
        if (Date.now() > end) throw new Error(`plinth serve did not start:\n${out}`);
        if (proc.exitCode !== null) throw new Error(`plinth serve exited:\n${out}`);
        try {
          if ((await fetch(`${url}/api/health`)).ok) break;
        } catch {
          // not listening yet
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      return { url, exited, output: () => out };
    }

    async function login(url: string, collection: string, email: string, password: string): Promise<string> {
      const res = await fetch(`${url}/api/collections/${collection}/auth-with-password`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ identity: email, password }),
      });
      return ((await res.json()) as { token: string }).token;
    }

    before(async () => {
      root = mkdtempSync(join(tmpdir(), 'plinth-pay-kill-'));
      stripe = await new StripeStandin().start();
      if (dialect === 'postgres') temp = await createTempDatabase();
      mkdirSync(join(root, 'hooks'));
      writeFileSync(
        join(root, 'hooks', 'fulfil.ts'),
        `import { appendFileSync, existsSync } from 'node:fs';
import { defineHooks } from 'plinth';
export default defineHooks((app) => {
  app.onPaymentSucceeded(async (e) => {
    await e.app.system.records('entitlements').create({ order: e.order.id, user: e.order.user });
    if (existsSync(process.env.KILL_MARKER!)) {
      appendFileSync(process.env.REACHED!, e.order.id + '\\n');
      process.kill(process.pid, 'SIGKILL');
      await new Promise(() => {});
    }
    await e.next();
  });
});
`,
      );
      // Set up in-process (same data dir or database), then hand it to the child.
      const app = await App.open({
        dataDir: dataDir(),
        migrationsDir: join(root, 'pb_migrations'),
        logger: silentLogger(),
        ...(temp ? { databaseUrl: temp.url } : {}),
      });
      try {
        await addSuperuser(app);
        await app.settings.update({
          rateLimits: { enabled: false },
          payments: { stripe: { enabled: true, secretKey: STANDIN_SECRET_KEY, webhookSecret: STANDIN_WEBHOOK_SECRET, currencies: ['usd'] } },
        });
        await app.payments.ensureCollections();
        const sys = systemRequest(app.collections);
        await app.collections.create({
          name: 'entitlements',
          type: 'base',
          fields: [
            { name: 'order', type: 'text' },
            { name: 'user', type: 'text' },
          ],
        });
        const product = await app.writer.create(app.collections.require('products'), { data: { name: 'Course', active: true } }, sys);
        priceId = String(
          (await app.writer.create(app.collections.require('prices'), { data: { product: product.id, amount: 4900, currency: 'usd', active: true } }, sys)).id,
        );
        await app.writer.create(
          app.collections.require('users'),
          { data: { email: 'buyer@example.com', password: 'a-long-password', passwordConfirm: 'a-long-password' } },
          sys,
        );
      } finally {
        await app.close();
      }
    });

    after(async () => {
      child?.kill('SIGKILL');
      await stripe?.close();
      await temp?.drop();
      rmSync(root, { recursive: true, force: true });
    });

    it('the event is processed once, on the retry: order paid, one entitlement', async () => {
      const port = await freePort();
      const first = await serve(port);
      stripe.webhookUrl = `${first.url}/api/payments/stripe/webhook`;
      const token = await login(first.url, 'users', 'buyer@example.com', 'a-long-password');
      const res = await fetch(`${first.url}/api/payments/checkout`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: token },
        body: JSON.stringify({ items: [{ price: priceId, quantity: 1 }] }),
      });
      const checkout = (await res.json()) as { orderId: string; sessionId: string };
      assert.equal(res.status, 200, JSON.stringify(checkout));
      const { session } = stripe.pay(checkout.sessionId);
      const event = stripe.event('checkout.session.completed', session);

      writeFileSync(join(root, 'kill-now'), '');
      await assert.rejects(stripe.deliver(event), 'the connection drops with the process');
      assert.equal(await first.exited, 'SIGKILL', first.output());
      assert.equal(existsSync(join(root, 'reached')), true, 'killed inside the hook, mid-transaction');
      rmSync(join(root, 'kill-now'));

      const second = await serve(port);
      const admin = await login(second.url, '_superusers', SUPERUSER_EMAIL, SUPERUSER_PASSWORD);
      const get = async (path: string) => (await (await fetch(`${second.url}${path}`, { headers: { authorization: admin } })).json()) as Obj;
      assert.equal((await get(`/api/collections/orders/records/${checkout.orderId}`)).status, 'pending', 'nothing committed');
      assert.equal((await get('/api/collections/entitlements/records')).totalItems, 0);

      // Stripe retries the same event: processed now, once.
      const retry = await stripe.deliver(event);
      assert.equal(retry.status, 200);
      assert.equal(retry.body.duplicate, false);
      const again = await stripe.deliver(event);
      assert.equal(again.body.duplicate, true);
      assert.equal((await get(`/api/collections/orders/records/${checkout.orderId}`)).status, 'paid');
      const ent = await get('/api/collections/entitlements/records');
      assert.equal(ent.totalItems, 1);
      assert.equal(ent.items[0].order, checkout.orderId);
      child!.kill('SIGTERM');
      await second.exited;
    });
  });
