/**
 * Verified inbound webhooks (`app.webhooks.inbound`): Standard Webhooks (signed with the `standardwebhooks`
 * package), Stripe-style and GitHub signatures and a custom verifier. Good deliveries answer 200 fast and
 * run the handler as a job once per delivery id; bad, missing or stale signatures, replays, oversized bodies
 * and wrong content types get clear 4xx answers and the handler never runs.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomUUID } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { startServer, type TestServer } from '../helpers/server.js';
import { eventually, sleep } from '../helpers/webhook-receiver.js';
import type { InboundEvent } from '../../src/webhooks/index.js';

const STD_SECRET = `whsec_${Buffer.from('an inbound test secret of 32 by').toString('base64')}`;
const STRIPE_SECRET = 'whsec_stripe_test_secret';
const GITHUB_SECRET = 'github-test-secret';

describe('inbound webhooks', () => {
  let s: TestServer;
  const runs: Record<string, InboundEvent[]> = { std: [], stripe: [], github: [], custom: [] };

  before(async () => {
    s = await startServer({ jobs: { pollMs: 50 } });
    s.app.webhooks.inbound('std', { verify: 'standard', secret: STD_SECRET, handler: (e) => void runs.std!.push(e) });
    s.app.webhooks.inbound('stripe', { verify: 'stripe', secret: STRIPE_SECRET, handler: (e) => void runs.stripe!.push(e) });
    s.app.webhooks.inbound('github', { verify: 'github', secret: GITHUB_SECRET, maxBytes: 2048, handler: (e) => void runs.github!.push(e) });
    s.app.webhooks.inbound('custom', {
      verify: (req) => req.headers['x-token'] === 'let-me-in',
      idOf: (req) => (req.body as { eventId?: string }).eventId,
      handler: (e) => void runs.custom!.push(e),
    });
  });
  after(async () => {
    await s.close();
  });

  const post = async (name: string, body: string, headers: Record<string, string>) => {
    const res = await s.fetch(`/api/webhooks/inbound/${name}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
    return { status: res.status, json: async (): Promise<any> => res.json() };
  };

  const stdHeaders = (id: string, body: string, when = new Date(), secret = STD_SECRET) => ({
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(when.getTime() / 1000)),
    'webhook-signature': new Webhook(secret).sign(id, when, body),
  });

  it('Standard Webhooks: a good delivery runs the handler once; a replayed id answers 200 without a new run', async () => {
    const body = JSON.stringify({ type: 'thing.happened', data: { n: 1 } });
    const res = await post('std', body, stdHeaders('msg_in_1', body));
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { received: true, duplicate: false, id: 'msg_in_1' });
    await eventually(() => runs.std!.length === 1);
    const e = runs.std![0]!;
    assert.equal(e.id, 'msg_in_1');
    assert.deepEqual(e.body, { type: 'thing.happened', data: { n: 1 } });
    assert.equal(e.rawBody, body);
    assert.equal(e.headers['webhook-id'], 'msg_in_1');
    // The sender retries (new timestamp, same id).
    const again = await post('std', body, stdHeaders('msg_in_1', body, new Date(Date.now() + 1000)));
    assert.equal(again.status, 200);
    assert.equal((await again.json()).duplicate, true);
    await sleep(300);
    assert.equal(runs.std!.length, 1);
  });

  it('Standard Webhooks: bad, missing or stale signatures are 401 and run nothing', async () => {
    const body = '{"x":1}';
    const wrong = `whsec_${Buffer.from('another secret entirely, 32 byt').toString('base64')}`;
    const cases: Array<[string, Record<string, string>]> = [
      ['wrong secret', stdHeaders('msg_bad_1', body, new Date(), wrong)],
      ['tampered body', stdHeaders('msg_bad_2', '{"x":2}')],
      ['missing', {}],
      ['stale', stdHeaders('msg_bad_3', body, new Date(Date.now() - 10 * 60_000))],
      ['future', stdHeaders('msg_bad_4', body, new Date(Date.now() + 10 * 60_000))],
    ];
    for (const [what, headers] of cases) {
      const res = await post('std', body, headers);
      assert.equal(res.status, 401, what);
      const json: any = await res.json();
      assert.match(json.message, /signature/i, what);
    }
    await sleep(200);
    assert.equal(runs.std!.filter((e) => e.id.startsWith('msg_bad')).length, 0);
  });

  it('refuses a wrong content type (415), an oversized body (413) and an unknown name (404)', async () => {
    const body = '{"x":1}';
    const r415 = await s.fetch('/api/webhooks/inbound/std', { method: 'POST', headers: { 'content-type': 'text/plain', ...stdHeaders('msg_t', body) }, body });
    assert.equal(r415.status, 415);
    const big = JSON.stringify({ pad: 'x'.repeat(5000) });
    const sig = `sha256=${createHmac('sha256', GITHUB_SECRET).update(big).digest('hex')}`;
    const r413 = await post('github', big, { 'x-hub-signature-256': sig, 'x-github-delivery': randomUUID() });
    assert.equal(r413.status, 413);
    const r404 = await post('nope', body, {});
    assert.equal(r404.status, 404);
    const noBody = await s.fetch('/api/webhooks/inbound/std', { method: 'POST' });
    assert.ok(noBody.status === 415 || noBody.status === 401, String(noBody.status));
    await sleep(200);
    assert.equal(runs.github!.length, 0);
  });

  it('Stripe-style: t=…,v1=… over `t.body`; dedup by the event id in the body; stale is 401', async () => {
    const event = { id: 'evt_123', type: 'invoice.paid', data: { object: { amount: 500 } } };
    const body = JSON.stringify(event);
    const sign = (t: number, b = body, secret = STRIPE_SECRET) => `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${b}`).digest('hex')}`;
    const now = Math.floor(Date.now() / 1000);
    const ok = await post('stripe', body, { 'stripe-signature': sign(now) });
    assert.equal(ok.status, 200);
    assert.equal((await ok.json()).id, 'evt_123');
    assert.equal((await (await post('stripe', body, { 'stripe-signature': sign(now + 1) })).json()).duplicate, true);
    assert.equal((await post('stripe', body, { 'stripe-signature': sign(now, body, 'whsec_other') })).status, 401);
    assert.equal((await post('stripe', body, { 'stripe-signature': sign(now - 3600) })).status, 401);
    assert.equal((await post('stripe', body, { 'stripe-signature': 'garbage' })).status, 401);
    await eventually(() => runs.stripe!.length === 1);
    await sleep(200);
    assert.equal(runs.stripe!.length, 1);
    assert.deepEqual(runs.stripe![0]!.body, event);
  });

  it('GitHub: X-Hub-Signature-256 over the body; dedup by X-GitHub-Delivery', async () => {
    const body = JSON.stringify({ action: 'opened', number: 7 });
    const sig = `sha256=${createHmac('sha256', GITHUB_SECRET).update(body).digest('hex')}`;
    const delivery = randomUUID();
    assert.equal((await post('github', body, { 'x-hub-signature-256': sig, 'x-github-delivery': delivery })).status, 200);
    const dup = await post('github', body, { 'x-hub-signature-256': sig, 'x-github-delivery': delivery });
    assert.equal((await dup.json()).duplicate, true);
    assert.equal((await post('github', body, { 'x-hub-signature-256': `sha256=${'0'.repeat(64)}`, 'x-github-delivery': randomUUID() })).status, 401);
    assert.equal((await post('github', `${body} `, { 'x-hub-signature-256': sig, 'x-github-delivery': randomUUID() })).status, 401);
    await eventually(() => runs.github!.length === 1);
    assert.equal(runs.github![0]!.id, delivery);
    assert.equal(runs.github![0]!.headers['x-github-delivery'], delivery);
  });

  it('a custom verifier, with its own delivery id', async () => {
    const body = JSON.stringify({ eventId: 'c-1', hello: 'world' });
    assert.equal((await post('custom', body, { 'x-token': 'nope' })).status, 401);
    assert.equal((await post('custom', body, { 'x-token': 'let-me-in' })).status, 200);
    assert.equal((await (await post('custom', body, { 'x-token': 'let-me-in' })).json()).duplicate, true);
    await eventually(() => runs.custom!.length === 1);
    assert.equal(runs.custom![0]!.id, 'c-1');
  });

  it('a verified body that is not JSON is a 400; registration is checked', async () => {
    const body = '{not json';
    const res = await post('std', body, stdHeaders('msg_json', body));
    assert.equal(res.status, 400);
    assert.throws(() => s.app.webhooks.inbound('bad name!', { verify: 'standard', secret: 'x', handler: () => {} }), /name/);
    assert.throws(() => s.app.webhooks.inbound('nosecret', { verify: 'standard', handler: () => {} }), /secret/);
    assert.throws(() => s.app.webhooks.inbound('noverify', { verify: 'hmm' as never, secret: 'x', handler: () => {} }), /verify/);
  });
});
