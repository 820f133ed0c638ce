/** URLs in messages: no password, whatever the PostgreSQL driver accepts (raw `@` or `/` in it, `?password=`). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { maskUrlCredentials } from './mask-url.js';

test('the user info and query credentials are masked; host, port, database and other options stay', () => {
  assert.equal(maskUrlCredentials('postgres://postgres:secret@127.0.0.1:5432/plinth'), 'postgres://***@127.0.0.1:5432/plinth');
  assert.equal(maskUrlCredentials('postgres://127.0.0.1:5432/plinth'), 'postgres://127.0.0.1:5432/plinth');
  assert.equal(maskUrlCredentials('postgres://u:p@ss@db.internal/app'), 'postgres://***@db.internal/app');
  assert.equal(maskUrlCredentials('postgres://u:pa/ss@db.internal/app'), 'postgres://***@db.internal/app');
  assert.equal(
    maskUrlCredentials('postgres://db.internal/app?sslmode=require&password=hunter22&sslpassword=x&application_name=plinth'),
    'postgres://db.internal/app?sslmode=require&password=***&sslpassword=***&application_name=plinth',
  );
  assert.equal(maskUrlCredentials('mysql://root:pw@h/db'), 'mysql://***@h/db');
  assert.equal(maskUrlCredentials('https://otlp.example/v1/traces?api-key=k1&x=1'), 'https://otlp.example/v1/traces?api-key=***&x=1');
});

test('a random password never appears in the masked URL, however it is spelled', () => {
  const password = fc.stringMatching(/^[A-Za-z0-9@/:#%!$&*+=~-]{8,30}$/);
  fc.assert(
    fc.property(password, fc.constantFrom('user', ''), (pw, user) => {
      for (const url of [`postgres://${user}:${pw}@db.example:5432/app`, `postgres://db.example/app?user=u&password=${encodeURIComponent(pw)}`]) {
        const shown = maskUrlCredentials(url);
        assert.ok(!shown.includes(pw) && !shown.includes(encodeURIComponent(pw)), `${url} → ${shown}`);
      }
    }),
  );
});
