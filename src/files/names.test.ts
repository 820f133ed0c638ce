import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { dispositionName, isSafeFileName, snakeCase, splitExtension, storedFileName } from './names.js';

const STORED_RE = /^[a-z0-9_]+_[a-z0-9]{10}(\.[a-z0-9.]+)?$/;

describe('stored file names', () => {
  it('snake-cases the original and adds a random part (PocketBase style)', () => {
    const name = storedFileName('My Holiday Photo.PNG', 'image/png');
    assert.match(name, /^my_holiday_photo_[a-z0-9]{10}\.png$/);
    assert.match(storedFileName('testFile-v2.tar.gz', 'application/gzip'), /^test_file_v2_[a-z0-9]{10}\.tar\.gz$/);
    assert.equal(snakeCase('helloWorld  Foo'), 'hello_world_foo');
  });

  it('pads short names, cuts long ones to 100 characters, and derives a missing extension', () => {
    assert.match(storedFileName('a.txt', 'text/plain'), /^a[a-z0-9]{10}_[a-z0-9]{10}\.txt$/);
    const long = storedFileName(`${'x'.repeat(300)}.pdf`, 'application/pdf');
    assert.match(long, /^x{100}_[a-z0-9]{10}\.pdf$/);
    assert.match(storedFileName('noext', 'image/png'), /^noext_[a-z0-9]{10}\.png$/);
    assert.match(storedFileName('.env', 'text/plain'), /^env_[a-z0-9]{10}\.txt$/);
  });

  it('never lets path tricks through', () => {
    for (const evil of ['../../etc/passwd', '..\\..\\win.ini', '/abs/x.png', 'a\u0000b.png', '%2e%2e%2fx', '']) {
      const name = storedFileName(evil, 'text/plain');
      assert.ok(isSafeFileName(name), name);
      assert.match(name, STORED_RE);
    }
  });

  it('always produces a safe, pattern-shaped name (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), fc.constantFrom('image/png', 'text/plain', 'application/octet-stream'), (original, type) => {
        const name = storedFileName(original, type);
        return isSafeFileName(name) && STORED_RE.test(name) && name.length <= 140;
      }),
    );
  });

  it('splits extensions', () => {
    assert.deepEqual(splitExtension('a.b.JPG'), { stem: 'a.b', ext: 'jpg' });
    assert.deepEqual(splitExtension('x'), { stem: 'x', ext: '' });
    assert.deepEqual(splitExtension('x.'), { stem: 'x.', ext: '' });
  });
});

describe('isSafeFileName / dispositionName', () => {
  it('accepts one plain segment only', () => {
    assert.ok(isSafeFileName('photo_abc123.png'));
    for (const bad of ['', '.', '..', '.hidden', 'a/b', 'a\\b', 'a\u0000b', 'a\nb', 'x'.repeat(256)]) assert.ok(!isSafeFileName(bad), JSON.stringify(bad));
  });

  it('makes header-safe names', () => {
    assert.equal(dispositionName('a"b;c\r\n.png'), 'a_b_c__.png');
    assert.equal(dispositionName('.x'), 'file.x');
  });
});
