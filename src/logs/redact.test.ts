import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { redactUrl } from './redact.js';

describe('redactUrl', () => {
  it('keeps plain query values and hides secrets', () => {
    assert.equal(redactUrl('/api/x?page=2&token=abc&filter=a%3D1'), '/api/x?page=2&token=***&filter=a%3D1');
    assert.equal(redactUrl('/api/x?password=hunter2&Secret=1&apiKey=2&code=3'), '/api/x?password=***&Secret=***&apiKey=***&code=***');
    assert.equal(redactUrl('/api/health'), '/api/health');
  });
  it('bounds the length', () => {
    assert.equal(redactUrl('/a?x=' + 'y'.repeat(5000)).length, 2000);
  });
});
