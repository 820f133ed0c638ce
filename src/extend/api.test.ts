/** Bound filter params and ApiError's envelope. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError, AppError } from '../errors/index.js';
import { tokenize } from '../rules/lexer.js';
import { bindFilterParams } from './api.js';

test('{:name} placeholders become literals that lex back to the exact value', () => {
  for (const value of ["it's", 'say "hi"', 'both \' and "', 'back\\slash', 'a\\b"c', '', '{:x}', 'line\nbreak']) {
    const filter = bindFilterParams('title = {:v}', { v: value });
    const tokens = tokenize(filter);
    const literal = tokens.find((t) => t.kind === 'text');
    assert.equal(literal && 'value' in literal ? literal.value : undefined, value, `${JSON.stringify(value)} → ${filter}`);
    assert.equal(tokens.filter((t) => t.kind !== 'eof').length, 3, `one literal for ${JSON.stringify(value)}`);
  }
  assert.equal(bindFilterParams('n > {:n} && ok = {:b} && x = {:z}', { n: 5, b: true, z: null }), 'n > 5 && ok = true && x = null');
  assert.equal(bindFilterParams('created >= {:d}', { d: new Date('2026-01-02T03:04:05.006Z') }), "created >= '2026-01-02 03:04:05.006Z'");
  assert.equal(bindFilterParams('no placeholders', undefined), 'no placeholders');
});

test('values that cannot be quoted, missing params and non-finite numbers are 400s', () => {
  const refused = (fn: () => unknown) => assert.throws(fn, (e: AppError) => e instanceof AppError && e.status === 400);
  refused(() => bindFilterParams('a = {:v}', { v: 'ends with \\' }));
  refused(() => bindFilterParams('a = {:v}', { v: '\\\' and \\"' }));
  refused(() => bindFilterParams('a = {:missing}', {}));
  refused(() => bindFilterParams('a = {:n}', { n: Number.NaN }));
});

test('ApiError answers with its status, message and data; statuses outside 400-599 become 500', () => {
  const e = new ApiError(409, 'already paid', { order: { code: 'validation_paid', message: 'Paid.' } });
  assert.ok(e instanceof AppError);
  assert.deepEqual(e.toEnvelope(), { data: { order: { code: 'validation_paid', message: 'Paid.' } }, message: 'Already paid.', status: 409 });
  assert.equal(new ApiError(503).status, 503);
  assert.equal(new ApiError(200, 'ok?').status, 500);
  assert.equal(new ApiError(4000).status, 500);
  assert.equal(new ApiError(418).toEnvelope().message, 'Something went wrong while processing your request.');
});
