/** docs/errors.md must list exactly the codes in the code table, with their statuses. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ERROR_CODES } from './codes.js';
import { AppError, fromUnknown, sentenize } from './app-error.js';

test('docs/errors.md lists every error code with its status, and nothing stale', () => {
  const doc = readFileSync('docs/errors.md', 'utf8');
  const rows = [...doc.matchAll(/^\| `([a-z_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1], Number(m[2])]);
  const fromCode = Object.entries(ERROR_CODES).map(([code, v]) => [code, v.status]);
  assert.deepEqual(rows.sort(), fromCode.sort());
});

test('the envelope has data, message and status, sentenized', () => {
  const e = new AppError('not_found', 'no such thing').toEnvelope();
  assert.deepEqual(Object.keys(e), ['data', 'message', 'status']);
  assert.equal(e.message, 'No such thing.');
  assert.equal(e.status, 404);
  assert.equal(sentenize('done!'), 'Done!');
});

test('unknown throwables become a 500 that leaks nothing', () => {
  const e = fromUnknown(new Error('SQLITE_ERROR: near "x": syntax error at /secret/path'));
  assert.equal(e.status, 500);
  assert.equal(JSON.stringify(e.toEnvelope()).includes('secret'), false);
  assert.equal(fromUnknown({ statusCode: 413 }).status, 413);
});
