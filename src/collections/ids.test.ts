import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { collectionId, crc32, fieldId, newRecordId, randomSecret, uniqueId } from './ids.js';

describe('ids', () => {
  it('crc32 matches the IEEE checksum', () => {
    assert.equal(crc32(''), 0);
    assert.equal(crc32('123456789'), 0xcbf43926);
    assert.equal(crc32('é'), crc32('\u00e9'), 'UTF-8 bytes');
    assert.equal(crc32(Buffer.from('123456789', 'latin1')), 0xcbf43926, 'bytes as given');
  });

  it('collection and field ids match PocketBase', () => {
    assert.equal(collectionId('auth', '_superusers'), 'pbc_3142635823');
    assert.equal(collectionId('base', '_externalAuths'), 'pbc_2281828961');
    assert.equal(fieldId('text', 'id'), 'text3208210256');
    assert.equal(fieldId('password', 'password'), 'password901924565');
    assert.equal(fieldId('autodate', 'created'), 'autodate2990389176');
  });

  it('record ids are 15 [a-z0-9] characters and differ', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const id = newRecordId();
      assert.match(id, /^[a-z0-9]{15}$/);
      seen.add(id);
    }
    assert.equal(seen.size, 1000);
    assert.match(randomSecret(), /^[a-zA-Z0-9]{50}$/);
  });

  it('uniqueId suffixes 2..999 like PocketBase', () => {
    assert.equal(
      uniqueId('a', () => false),
      'a',
    );
    assert.equal(
      uniqueId('a', (x) => x === 'a'),
      'a2',
    );
    assert.equal(
      uniqueId('a', (x) => x === 'a' || x === 'a2'),
      'a3',
    );
  });
});
