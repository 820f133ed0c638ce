/**
 * Webhooks from hook files (`app.webhooks`): `e.app.webhooks.emit` inside a record hook is part of the write's
 * transaction (a refused write sends nothing, a committed one arrives signed), and `app.webhooks.inbound`
 * mounts a verified receiver whose handler runs once per delivery id.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { writeFiles } from '../helpers/hooks.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { eventually, sleep, startReceiver, verifyHit, type Receiver } from '../helpers/webhook-receiver.js';

const INBOUND_SECRET = `whsec_${Buffer.from('an inbound test secret of 32 bytes!').toString('base64')}`;

const HOOK = `import { ApiError, defineHooks } from 'plinth';
export default defineHooks((app) => {
  app.onRecordCreate(async (e) => {
    await e.next();
    await e.app.webhooks.emit('billing.invoice_created', { invoiceId: e.record.id, total: e.record.total });
    // Refused after the write and the emit: the transaction rolls back, and the message with it.
    if (e.record.total > 1000) throw new ApiError(400, 'Too much.');
  }, 'invoices');

  app.webhooks.inbound('partner', {
    verify: 'standard',
    secret: ${JSON.stringify(INBOUND_SECRET)},
    handler: async (ev) => {
      await app.system.records('inbox').create({ delivery: ev.id, body: JSON.stringify(ev.body) });
    },
  });
});
`;

describe('webhooks from hook files', () => {
  let s: TestServer;
  let dir: string;
  let receiver: Receiver;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'plinth-hooks-webhooks-'));
    writeFiles(dir, { 'billing.ts': HOOK });
    receiver = await startReceiver();
    s = await startServer({
      settings: { outbound: { allowedHosts: ['127.0.0.1'] } },
      jobs: { pollMs: 50 },
      webhooks: { scheduleMs: [0, 100, 100], timeoutMs: 1000 },
      hooks: { dir },
      beforeHooks: async (app) => {
        await app.collections.create({ name: 'invoices', type: 'base', fields: [{ name: 'total', type: 'number' }], createRule: '' });
        await app.collections.create({
          name: 'inbox',
          type: 'base',
          fields: [
            { name: 'delivery', type: 'text' },
            { name: 'body', type: 'text' },
          ],
        });
      },
    });
  });
  after(async () => {
    await s?.close();
    await receiver?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('e.app.webhooks.emit in a record hook: sent, signed, only when the write commits', async () => {
    const res = await s.fetch('/api/webhooks', {
      method: 'POST',
      headers: { authorization: s.admin.authStore.token, 'content-type': 'application/json' },
      body: JSON.stringify({ url: receiver.url, events: ['billing.invoice_created'] }),
    });
    assert.equal(res.status, 200);
    const { secret } = (await res.json()) as { secret: string };

    await assert.rejects(s.client().collection('invoices').create({ total: 5000 }), (e: { status?: number }) => e.status === 400);
    const ok = await s.client().collection('invoices').create({ total: 42 });
    const [hit] = await receiver.waitFor(1);
    const event = verifyHit(secret, hit!);
    assert.equal(event.type, 'billing.invoice_created');
    assert.deepEqual(event.data, { invoiceId: ok.id, total: 42 });
    await sleep(300); // the refused write's message would have arrived by now
    assert.equal(receiver.hits.length, 1, 'nothing was sent for the rolled-back write');
    assert.equal((await s.admin.collection('invoices').getFullList()).length, 1);
  });

  it('app.webhooks.inbound: verified before the handler runs, handled once per delivery id', async () => {
    const body = JSON.stringify({ hello: 'partner' });
    const wh = new Webhook(INBOUND_SECRET);
    const id = 'msg_partner_1';
    const now = new Date();
    const headers = { 'webhook-id': id, 'webhook-timestamp': String(Math.floor(now.getTime() / 1000)), 'webhook-signature': wh.sign(id, now, body) };
    const send = (h: Record<string, string>) =>
      s.fetch('/api/webhooks/inbound/partner', { method: 'POST', headers: { 'content-type': 'application/json', ...h }, body });

    const forged = await send({ ...headers, 'webhook-signature': 'v1,AAAA' });
    assert.equal(forged.status, 401);
    assert.equal((await send(headers)).status < 300, true);
    assert.equal((await send(headers)).status < 300, true); // a re-delivery of the same id
    const rows = await eventually(async () => {
      const items = await s.admin.collection('inbox').getFullList();
      return items.length ? items : undefined;
    });
    await sleep(300);
    assert.equal((await s.admin.collection('inbox').getFullList()).length, 1);
    assert.equal(rows[0]?.delivery, id);
    assert.deepEqual(JSON.parse(String(rows[0]?.body)), { hello: 'partner' });
  });
});
