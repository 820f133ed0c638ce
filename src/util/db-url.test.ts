/** Database URLs in messages: no password, whatever the driver accepts (raw `@` or `/` in it, `?password=`). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { maskDatabaseUrl } from './db-url.js';

test('the user info and query credentials are masked; host, port, database and other options stay', () => {
  assert.equal(maskDatabaseUrl('postgres://postgres:secret@127.0.0.1:5432/plinth'), 'postgres://***@127.0.0.1:5432/plinth');
  assert.equal(maskDatabaseUrl('postgres://127.0.0.1:5432/plinth'), 'postgres://127.0.0.1:5432/plinth');
  assert.equal(maskDatabaseUrl('postgres://u:p@ss@db.internal/app'), 'postgres://***@db.internal/app');
  assert.equal(maskDatabaseUrl('postgres://u:pa/ss@db.internal/app'), 'postgres://***@db.internal/app');
  assert.equal(
    maskDatabaseUrl('postgres://db.internal/app?sslmode=require&password=hunter22&sslpassword=x&application_name=plinth'),
    'postgres://db.internal/app?sslmode=require&password=***&sslpassword=***&application_name=plinth',
  );
  assert.equal(maskDatabaseUrl('mysql://root:pw@h/db'), 'mysql://***@h/db');
});

test('a random password never appears in the masked URL, however it is spelled', () => {
  const password = fc.stringMatching(/^[A-Za-z0-9@/:#%!$&*+=~-]{8,30}$/);
  fc.assert(
    fc.property(password, fc.constantFrom('user', ''), (pw, user) => {
      for (const url of [`postgres://${user}:${pw}@db.example:5432/app`, `postgres://db.example/app?user=u&password=${encodeURIComponent(pw)}`]) {
        const shown = maskDatabaseUrl(url);
        assert.ok(!shown.includes(pw) && !shown.includes(encodeURIComponent(pw)), `${url} → ${shown}`);
      }
    }),
  );
});
