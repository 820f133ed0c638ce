import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { schemaOf } from './fields/test-support.js';
import type { AuthCollection, Collection } from './model.js';
import { scaffolds, superusersCollection, systemCollections, usersCollection } from './system-collections.js';
import { normalizeCollection, validateCollection } from './validate-collection.js';

const OWNER = "@request.auth.id != '' && recordRef = @request.auth.id && collectionRef = @request.auth.collectionId";

function byName(list: Collection[], name: string): Collection {
  const c = list.find((x) => x.name === name);
  assert.ok(c, name);
  return c;
}

describe('system collections', () => {
  const list = systemCollections('2024-01-01 00:00:00.000Z');

  it('match PocketBase ids, order and rules', () => {
    assert.deepEqual(
      list.map((c) => [c.name, c.id, c.type, c.system]),
      [
        ['_mfas', 'pbc_2279338944', 'base', true],
        ['_otps', 'pbc_1638494021', 'base', true],
        ['_externalAuths', 'pbc_2281828961', 'base', true],
        ['_authOrigins', 'pbc_4275539003', 'base', true],
        ['_superusers', 'pbc_3142635823', 'auth', true],
        ['users', '_pb_users_auth_', 'auth', false],
      ],
    );
    for (const name of ['_mfas', '_otps']) {
      const c = byName(list, name);
      assert.deepEqual([c.listRule, c.viewRule, c.createRule, c.updateRule, c.deleteRule], [OWNER, OWNER, null, null, null], name);
    }
    for (const name of ['_externalAuths', '_authOrigins']) {
      const c = byName(list, name);
      assert.deepEqual([c.listRule, c.viewRule, c.createRule, c.updateRule, c.deleteRule], [OWNER, OWNER, null, null, OWNER], name);
    }
    const superusers = byName(list, '_superusers');
    assert.deepEqual(
      [superusers.listRule, superusers.viewRule, superusers.createRule, superusers.updateRule, superusers.deleteRule],
      [null, null, null, null, null],
    );
    const users = byName(list, 'users');
    assert.deepEqual(
      [users.listRule, users.viewRule, users.createRule, users.updateRule, users.deleteRule],
      ['id = @request.auth.id', 'id = @request.auth.id', '', 'id = @request.auth.id', 'id = @request.auth.id'],
    );
  });

  it('have PocketBase field shapes and ids', () => {
    const users = byName(list, 'users') as AuthCollection;
    assert.deepEqual(
      users.fields.map((f) => [f.name, f.id, f.type, f.system, f.hidden]),
      [
        ['id', 'text3208210256', 'text', true, false],
        ['password', 'password901924565', 'password', true, true],
        ['tokenKey', 'text2504183744', 'text', true, true],
        ['email', 'email3885137012', 'email', true, false],
        ['emailVisibility', 'bool1547992806', 'bool', true, false],
        ['verified', 'bool256245529', 'bool', true, false],
        ['name', 'text1579384326', 'text', false, false],
        ['avatar', 'file376926767', 'file', false, false],
        ['created', 'autodate2990389176', 'autodate', false, false],
        ['updated', 'autodate3332085495', 'autodate', false, false],
      ],
    );
    assert.deepEqual(users.fields[0], {
      autogeneratePattern: '[a-z0-9]{15}',
      help: '',
      hidden: false,
      id: 'text3208210256',
      max: 15,
      min: 15,
      name: 'id',
      pattern: '^[a-z0-9]+$',
      presentable: false,
      primaryKey: true,
      required: true,
      system: true,
      type: 'text',
    });
    assert.deepEqual(users.oauth2.mappedFields, { id: '', name: 'name', username: '', avatarURL: 'avatar' });
    assert.deepEqual(users.indexes, [
      'CREATE UNIQUE INDEX `idx_tokenKey__pb_users_auth_` ON `users` (`tokenKey`)',
      "CREATE UNIQUE INDEX `idx_email__pb_users_auth_` ON `users` (`email`) WHERE `email` != ''",
    ]);
    const otps = byName(list, '_otps');
    const otpPassword = otps.fields.find((f) => f.name === 'password');
    assert.equal(otpPassword?.type === 'password' && otpPassword.cost, 8);
    assert.equal(otps.fields.find((f) => f.name === 'sentTo')?.hidden, true);
    assert.deepEqual(
      byName(list, '_authOrigins').fields.map((f) => f.name),
      ['id', 'collectionRef', 'recordRef', 'fingerprint', 'created', 'updated'],
    );
  });

  it('superusers: 1 day auth tokens; users: 7 days; fresh secrets per collection', () => {
    const su = superusersCollection();
    const users = usersCollection();
    assert.equal(su.authToken.duration, 86400);
    assert.equal(users.authToken.duration, 604800);
    assert.equal(users.verificationToken.duration, 259200);
    assert.notEqual(su.authToken.secret, users.authToken.secret);
  });

  it('are valid and stable under normalize + validate', () => {
    const schema = schemaOf([]);
    const saved: Collection[] = [];
    const growing = schemaOf(saved);
    for (const c of list) {
      assert.equal(validateCollection(c, { schema: growing }), null, c.name);
      saved.push(c);
    }
    for (const c of list) {
      const again = normalizeCollection(structuredClone(c), c, growing);
      assert.deepEqual({ ...again, updated: c.updated }, c, c.name);
      assert.equal(validateCollection(again, { schema: growing, existing: c }), null, c.name);
    }
    assert.ok(schema);
  });
});

describe('scaffolds', () => {
  it('returns blank templates per type without ids or secrets', () => {
    const s = scaffolds();
    assert.deepEqual(Object.keys(s).sort(), ['auth', 'base', 'view']);
    assert.equal(s.base.id, '');
    assert.equal(s.base.name, '');
    assert.deepEqual(
      s.base.fields.map((f) => f.name),
      ['id'],
    );
    assert.deepEqual(
      s.auth.fields.map((f) => f.name),
      ['id', 'password', 'tokenKey', 'email', 'emailVisibility', 'verified'],
    );
    assert.equal(s.auth.id, '');
    assert.equal(s.auth.authToken.secret, undefined);
    assert.match(s.auth.indexes[0] ?? '', /^CREATE UNIQUE INDEX `idx_tokenKey_[1-9]{10}` ON `` \(`tokenKey`\)$/);
    assert.equal(s.view.viewQuery, '');
    assert.deepEqual(s.view.fields, []);
    assert.equal(s.base.created, '');
  });
});
