import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '../errors/index.js';
import { parseSubscribeForm } from './subscribe-form.js';

function fails(body: Record<string, unknown>): Record<string, unknown> {
  try {
    parseSubscribeForm(body);
  } catch (err) {
    assert.ok(err instanceof AppError);
    assert.equal(err.status, 400);
    return err.toEnvelope().data;
  }
  assert.fail('expected a 400');
}

describe('parseSubscribeForm', () => {
  it('accepts JSON lists and single form values; skips empty entries', () => {
    assert.deepEqual(
      parseSubscribeForm({ clientId: 'abc', subscriptions: ['posts/*', '', 'posts/x'] }).subscriptions.map((s) => s.name),
      ['posts/*', 'posts/x'],
    );
    assert.deepEqual(
      parseSubscribeForm({ clientId: 'abc', subscriptions: 'posts/*' }).subscriptions.map((s) => s.name),
      ['posts/*'],
    );
    assert.deepEqual(parseSubscribeForm({ clientId: 'abc' }).subscriptions, []);
  });

  it('reports clientId problems the PocketBase way', () => {
    assert.equal((fails({}).clientId as { code: string }).code, 'validation_required');
    assert.equal((fails({ clientId: 'x'.repeat(256) }).clientId as { code: string }).code, 'validation_length_out_of_range');
    assert.equal((fails({ clientId: { a: 1 } }).clientId as { code: string }).code, 'validation_invalid_value');
  });

  it('caps the count and length of subscriptions', () => {
    const many = fails({ clientId: 'a', subscriptions: Array.from({ length: 1001 }, (_, i) => `t${i}`) });
    assert.equal((many.subscriptions as { code: string }).code, 'validation_length_too_long');
    assert.doesNotThrow(() => parseSubscribeForm({ clientId: 'a', subscriptions: Array.from({ length: 1000 }, (_, i) => `t${i}`) }));
    const long = fails({ clientId: 'a', subscriptions: ['ok', 'x'.repeat(2501)] });
    assert.deepEqual(Object.keys(long.subscriptions as object), ['1']);
    assert.doesNotThrow(() => parseSubscribeForm({ clientId: 'a', subscriptions: ['é'.repeat(2500)] }));
  });

  it('refuses garbage subscriptions and bad options with the index of the culprit', () => {
    const data = fails({ clientId: 'a', subscriptions: ['ok', { x: 1 }, 'p?options=%7B'] });
    assert.deepEqual(Object.keys(data.subscriptions as object), ['1', '2']);
    assert.equal((fails({ clientId: 'a', subscriptions: { a: 1 } }).subscriptions as { code: string }).code, 'validation_invalid_value');
  });
});
