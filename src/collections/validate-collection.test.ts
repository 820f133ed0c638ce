import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AppError, fieldError } from '../errors/index.js';
import { schemaOf } from './fields/test-support.js';
import type { AuthCollection, Collection } from './model.js';
import { systemCollections, usersCollection } from './system-collections.js';
import { publicCollection as toPublic } from './public.js';
import { normalizeCollection, validateCollection, type CollectionValidationContext } from './validate-collection.js';

// The redaction the collections API applies (src/collections/public.ts), typed for these tests.
const publicCollection = (c: Collection) => toPublic(c) as unknown as Collection;

const NOW = new Date('2024-03-04T05:06:07.089Z');

function setup(extra: Collection[] = []) {
  const list = [...systemCollections('2024-01-01 00:00:00.000Z'), ...extra];
  return { list, schema: schemaOf(list) };
}

function create(input: unknown, extra: Collection[] = []) {
  const { schema } = setup(extra);
  const c = normalizeCollection(input, undefined, schema, { now: NOW });
  return { c, schema, errors: validateCollection(c, { schema }) as Record<string, any> | null };
}

function update(existing: Collection, input: unknown, ctxExtra: Partial<CollectionValidationContext> = {}, extra: Collection[] = []) {
  const { schema } = setup([...extra, existing]);
  const c = normalizeCollection(input, existing, schema, { now: NOW });
  return { c, errors: validateCollection(c, { schema, existing, ...ctxExtra }) as Record<string, any> | null };
}

function loadError(fn: () => unknown): AppError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof AppError);
    return err;
  }
  assert.fail('expected a load error');
}

describe('normalizeCollection: create', () => {
  it('fills defaults: PocketBase id, id field, null rules, timestamps', () => {
    const { c, errors } = create({ name: 'posts', fields: [{ name: 'title', type: 'text' }] });
    assert.equal(errors, null);
    assert.equal(c.id, 'pbc_1125843985');
    assert.equal(c.type, 'base');
    assert.deepEqual(
      c.fields.map((f) => [f.id, f.name]),
      [
        ['text3208210256', 'id'],
        ['text724990059', 'title'],
      ],
    );
    assert.equal(c.listRule, null);
    assert.equal(c.created, '2024-03-04 05:06:07.089Z');
    assert.equal(c.updated, c.created);
    assert.deepEqual(Object.keys(c).slice(0, 7), ['id', 'listRule', 'viewRule', 'createRule', 'updateRule', 'deleteRule', 'name']);
  });

  it('keeps a client id and suffixes a clashing generated id', () => {
    assert.equal(create({ id: 'custom_id', name: 'posts' }).c.id, 'custom_id');
    const first = create({ name: 'posts' }).c;
    const renamed = { ...first, name: 'posts_old' };
    assert.equal(create({ name: 'posts' }, [renamed]).c.id, `${first.id}2`);
  });

  it('builds auth collections with system fields, options, secrets and required indexes', () => {
    const { c, errors } = create({ name: 'members', type: 'auth', fields: [{ name: 'nick', type: 'text' }] });
    assert.equal(errors, null);
    const auth = c as AuthCollection;
    assert.deepEqual(
      auth.fields.map((f) => f.name),
      ['id', 'nick', 'password', 'tokenKey', 'email', 'emailVisibility', 'verified'],
    );
    assert.equal(auth.fields.find((f) => f.name === 'password')?.hidden, true);
    assert.equal(auth.authRule, '');
    assert.equal(auth.manageRule, null);
    assert.deepEqual(auth.passwordAuth, { enabled: true, identityFields: ['email'] });
    assert.equal(auth.authToken.duration, 604800);
    assert.equal(auth.authToken.secret?.length, 50);
    assert.notEqual(auth.authToken.secret, auth.fileToken.secret);
    assert.deepEqual(auth.mfa, { enabled: false, duration: 1800, rule: '' });
    assert.equal(auth.otp.length, 8);
    assert.deepEqual(auth.indexes, [
      `CREATE UNIQUE INDEX \`idx_tokenKey_${c.id}\` ON \`members\` (\`tokenKey\`)`,
      `CREATE UNIQUE INDEX \`idx_email_${c.id}\` ON \`members\` (\`email\`) WHERE \`email\` != ''`,
    ]);
  });

  it('re-asserts system flags on submitted system fields', () => {
    const { c } = create({
      name: 'm',
      type: 'auth',
      fields: [
        { name: 'id', type: 'text', hidden: true },
        { name: 'password', type: 'password', hidden: false },
      ],
    });
    assert.equal(c.fields[0]?.hidden, false);
    assert.equal(c.fields[0]?.type === 'text' && c.fields[0].pattern, '^[a-z0-9]+$');
    assert.equal(c.fields.find((f) => f.name === 'password')?.hidden, true);
  });

  it('canonicalises indexes on the collection table', () => {
    const { c, errors } = create({ name: 'posts', fields: [{ name: 'author', type: 'text' }], indexes: ['create index idx_a on whatever (author)'] });
    assert.equal(errors, null);
    assert.deepEqual(c.indexes, ['CREATE INDEX `idx_a` ON `posts` (`author`)']);
  });

  it('throws a 400 for a non-object body or wrongly typed keys', () => {
    assert.equal(loadError(() => create('nope')).status, 400);
    assert.equal(loadError(() => create([])).status, 400);
    const err = loadError(() => create({ name: 5, fields: [{ name: 'x', type: 'text', min: 'a' }, { type: 'nope' }, 'x'], listRule: 1, type: 'weird' }));
    assert.equal(err.message, 'Failed to load the submitted data due to invalid formatting.');
    const data = err.data as Record<string, any>;
    assert.equal(data.name.code, 'validation_unsupported_value_type');
    assert.equal(data.fields['0'].min.code, 'validation_unsupported_value_type');
    assert.equal(data.fields['1'].type.code, 'validation_unknown_field');
    assert.equal(data.fields['2'].code, 'validation_unsupported_value_type');
    assert.equal(data.listRule.code, 'validation_unsupported_value_type');
    assert.equal(data.type.code, 'validation_in_invalid');
    assert.equal(loadError(() => create({ name: 'a', type: 'auth', otp: { length: '8' } })).data.otp !== undefined, true);
  });

  it('ignores unknown and prototype keys', () => {
    const { c } = create(JSON.parse('{"name":"posts","__proto__":{"system":true},"constructor":{"x":1}}'));
    assert.equal(c.system, false);
    assert.equal(({} as Record<string, unknown>).system, undefined);
  });
});

describe('normalizeCollection: update', () => {
  const { c: posts } = create({
    name: 'posts',
    fields: [
      { name: 'title', type: 'text' },
      { name: 'views', type: 'number' },
    ],
    listRule: '',
  });

  it('merges the submitted keys over the stored collection', () => {
    const { c, errors } = update(posts, { viewRule: 'id != ""' });
    assert.equal(errors, null);
    assert.equal(c.listRule, '');
    assert.equal(c.viewRule, 'id != ""');
    assert.deepEqual(c.fields, posts.fields);
    assert.equal(c.created, posts.created);
    assert.equal(c.id, posts.id);
  });

  it('keeps field ids by name and type when the client omits them', () => {
    const { c } = update(posts, {
      fields: [
        { name: 'title', type: 'text', max: 10 },
        { name: 'views', type: 'number' },
      ],
    });
    const title = c.fields.find((f) => f.name === 'title');
    assert.equal(title?.id, posts.fields.find((f) => f.name === 'title')?.id);
    assert.equal(title?.type === 'text' && title.max, 10);
  });

  it('keeps secrets that clients never see, and rotates the auth secret when authRule changes', () => {
    const users = usersCollection();
    const sent = publicCollection(users) as AuthCollection;
    assert.equal(sent.authToken.secret, undefined);
    const same = update(users, sent).c as AuthCollection;
    assert.equal(same.authToken.secret, users.authToken.secret);
    assert.equal(same.fileToken.secret, users.fileToken.secret);
    const changed = update(users, { authRule: 'verified = true' }).c as AuthCollection;
    assert.notEqual(changed.authToken.secret, users.authToken.secret);
    assert.equal(changed.fileToken.secret, users.fileToken.secret);
  });

  it('keeps an OAuth2 client secret when the provider is re-submitted without it', () => {
    const users = usersCollection();
    const withProvider = update(users, { oauth2: { enabled: true, providers: [{ name: 'google', clientId: 'id', clientSecret: 'shh' }] } }).c as AuthCollection;
    const resent = update(withProvider, { oauth2: (publicCollection(withProvider) as AuthCollection).oauth2 }).c as AuthCollection;
    assert.equal(resent.oauth2.providers[0]?.clientSecret, 'shh');
    assert.equal((publicCollection(resent) as AuthCollection).oauth2.providers[0]?.clientSecret, undefined);
    assert.equal(resent.passwordAuth.enabled, true, 'nested objects merge');
  });

  it('ignores submitted view fields (they are inferred from the query)', () => {
    const { c } = create({ name: 'v', type: 'view', viewQuery: 'SELECT id FROM users', fields: [{ name: 'junk', type: 'nope' }] });
    assert.deepEqual(c.fields, []);
  });

  it('drops OAuth2 mapped fields that no longer exist', () => {
    const users = usersCollection();
    const { c } = update(users, { fields: users.fields.filter((f) => f.name !== 'avatar') });
    assert.equal((c as AuthCollection).oauth2.mappedFields.avatarURL, '');
    assert.equal((c as AuthCollection).oauth2.mappedFields.name, 'name');
  });
});

describe('validateCollection', () => {
  it('checks names: format, length, uniqueness (case-insensitive), reserved tables, _via_', () => {
    const cases: Array<[string, string]> = [
      ['', 'validation_required'],
      ['bad name', 'validation_match_invalid'],
      ['1posts', 'validation_match_invalid'],
      ['x'.repeat(256), 'validation_length_out_of_range'],
      ['USERS', 'validation_collection_name_exists'],
      ['_collections', 'validation_collection_name_invalid'],
      ['sqlite_master', 'validation_collection_name_invalid'],
      ['posts_via_author', 'validation_found_via'],
      ['pbc_3142635823', 'validation_collection_name_id_duplicate'],
    ];
    for (const [name, code] of cases) assert.equal(create({ name }).errors?.name?.code, code, name);
    const { c, schema } = create({ name: 'custom_table' });
    assert.equal((validateCollection(c, { schema, isInternalTable: (n) => n === 'custom_table' }) as any)?.name?.code, 'validation_collection_name_invalid');
  });

  it('checks ids on create', () => {
    assert.equal(create({ id: 'bad id', name: 'a' }).errors?.id?.code, 'validation_match_invalid');
    assert.equal(create({ id: '_pb_users_auth_', name: 'a' }).errors?.id?.code, 'validation_invalid_or_existing_id');
  });

  it('reports duplicate and reserved field names', () => {
    const dup = create({
      name: 'p',
      fields: [
        { name: 'title', type: 'text' },
        { name: 'Title', type: 'number' },
      ],
    });
    assert.equal(dup.errors?.fields?.['2']?.name?.code, 'validation_duplicated_field_name');
    assert.equal(create({ name: 'p', fields: [{ name: 'expand', type: 'text' }] }).errors?.fields?.['1']?.name?.code, 'validation_not_in_invalid');
    assert.equal(
      create({ name: 'p', type: 'auth', fields: [{ name: 'passwordConfirm', type: 'text' }] }).errors?.fields?.['1']?.name?.code,
      'validation_reserved_field_name',
    );
    assert.equal(
      create({
        name: 'p',
        fields: [
          { name: 'a', type: 'text', id: 'same' },
          { name: 'b', type: 'text', id: 'same' },
        ],
      }).errors?.fields?.['2']?.id?.code,
      'validation_duplicated_field_id',
    );
  });

  it('puts option errors under fields.<index>.<option>', () => {
    const { errors } = create({
      name: 'p',
      fields: [
        { name: 's', type: 'select', values: [] },
        { name: 'r', type: 'relation', collectionId: 'missing' },
      ],
    });
    assert.equal(errors?.fields?.['1']?.values?.code, 'validation_required');
    assert.equal(errors?.fields?.['2']?.collectionId?.code, 'validation_field_relation_missing_collection');
  });

  it('on update: field types are immutable, system fields stay', () => {
    const { c: posts } = create({ name: 'posts', fields: [{ name: 'title', type: 'text' }] });
    const titleId = posts.fields[1]?.id;
    const typeChange = update(posts, { fields: [posts.fields[0], { id: titleId, name: 'title', type: 'number' }] });
    assert.equal(typeChange.errors?.fields?.['1']?.code, 'validation_field_type_change');
    const users = usersCollection();
    const removed = update(users, { fields: users.fields.filter((f) => f.name !== 'verified') });
    assert.equal(
      removed.c.fields.some((f) => f.name === 'verified'),
      true,
      'normalize re-adds a removed auth system field',
    );
    const renamed = update(users, { fields: users.fields.map((f) => (f.name === 'verified' ? { ...f, name: 'isVerified' } : f)) });
    assert.equal(renamed.errors?.fields?.code, 'validation_system_field_change');
  });

  it('protects system collections', () => {
    const superusers = systemCollections().find((c) => c.name === '_superusers') as Collection;
    const { errors } = update(superusers, { name: 'admins', listRule: '', system: false });
    assert.equal(errors?.name?.code, 'validation_collection_system_name_change');
    assert.equal(errors?.listRule?.code, 'validation_collection_system_rule_change');
    assert.equal(errors?.system?.code, 'validation_collection_system_flag_change');
    assert.equal(update(superusers, { type: 'base' }).errors?.type?.code, 'validation_collection_type_change');
  });

  it('plugs in the rules engine for every rule', () => {
    const seen: string[] = [];
    const validateRule: CollectionValidationContext['validateRule'] = (_c, rule, expr) => {
      seen.push(rule);
      return expr.includes('bad') ? fieldError('validation_invalid_rule', 'Invalid rule.') : null;
    };
    const { c, schema } = create({
      name: 'm',
      type: 'auth',
      listRule: 'bad',
      viewRule: '',
      createRule: null,
      manageRule: 'ok',
      mfa: { enabled: true, rule: 'ok' },
      otp: { enabled: true },
    });
    const errors = validateCollection(c, { schema, validateRule }) as Record<string, any>;
    assert.equal(errors.listRule.code, 'validation_invalid_rule');
    assert.equal(errors.viewRule, undefined, 'empty rules are not compiled');
    assert.deepEqual(seen.sort(), ['listRule', 'manageRule', 'mfaRule']);
    const ok = create({ name: 'm', type: 'auth', manageRule: 'ok', mfa: { enabled: true, rule: 'ok' }, otp: { enabled: true } });
    seen.length = 0;
    assert.equal(validateCollection(ok.c, { schema: ok.schema, validateRule }), null);
    assert.deepEqual(seen.sort(), ['manageRule', 'mfaRule']);
  });

  it('view collections need a query, allow only list/view rules and no indexes', () => {
    const { errors } = create({ name: 'v', type: 'view', createRule: '', indexes: ['CREATE INDEX i ON v (a)'] });
    assert.equal(errors?.viewQuery?.code, 'validation_required');
    assert.equal(errors?.createRule?.code, 'validation_nil');
    assert.equal(errors?.indexes?.code, 'validation_indexes_not_supported');
    assert.equal(create({ name: 'v', type: 'view', viewQuery: 'SELECT id FROM posts', listRule: '' }).errors, null);
  });

  it('validates indexes: syntax, names, duplicates, columns, required auth indexes', () => {
    const fields = [
      { name: 'a', type: 'text' },
      { name: 'b', type: 'text' },
    ];
    const idx = (indexes: string[]) => create({ name: 'p', fields, indexes }).errors?.indexes;
    assert.equal(idx(['CREATE INDEX x ON p (a); DROP TABLE p'])?.['0']?.code, 'validation_invalid_index_expression');
    assert.equal(idx(['CREATE INDEX x ON p (a)', 'CREATE INDEX X ON p (b)'])?.['1']?.code, 'validation_duplicated_index_name');
    assert.equal(idx(['CREATE INDEX x ON p (a)', 'CREATE INDEX y ON p (a)'])?.['1']?.code, 'validation_duplicated_index_definition');
    assert.equal(idx(['CREATE INDEX x ON p (nope)'])?.['0']?.code, 'validation_invalid_index_column');
    assert.equal(idx(["CREATE INDEX x ON p (a) WHERE nope = ''"])?.['0']?.code, 'validation_invalid_index_column');
    assert.equal(idx(['CREATE INDEX idx_mfas_collectionRef_recordRef ON p (a)'])?.['0']?.code, 'validation_existing_index_name');
    assert.equal(idx(['CREATE UNIQUE INDEX x ON p (A COLLATE NOCASE)']), undefined);
    const users = usersCollection();
    const dropped = update(users, { indexes: [] });
    assert.equal(dropped.c.indexes.length, 2, 'normalize restores the required auth indexes');
    const externalAuths = systemCollections().find((c) => c.name === '_externalAuths') as Collection;
    const weakened = update(externalAuths, { indexes: [] });
    assert.equal(weakened.errors?.indexes?.code, 'validation_invalid_unique_system_field_index');
    assert.deepEqual(weakened.errors?.indexes?.params, { fieldName: 'collectionRef' });
  });

  it('validates auth options', () => {
    const errorsFor = (input: Record<string, unknown>) => create({ name: 'm', type: 'auth', ...input }).errors;
    assert.equal(errorsFor({ manageRule: '' })?.manageRule?.code, 'validation_nil_or_not_empty_required');
    assert.equal(errorsFor({ authToken: { duration: 5 } })?.authToken?.duration?.code, 'validation_min_greater_equal_than_required');
    assert.equal(errorsFor({ authToken: { secret: 'short' } })?.authToken?.secret?.code, 'validation_length_out_of_range');
    assert.equal(errorsFor({ otp: { enabled: true, length: 2 } })?.otp?.length?.code, 'validation_min_greater_equal_than_required');
    assert.equal(errorsFor({ verificationTemplate: { subject: '', body: 'x' } })?.verificationTemplate?.subject?.code, 'validation_required');
    assert.equal(errorsFor({ passwordAuth: { enabled: true, identityFields: [] } })?.passwordAuth?.identityFields?.code, 'validation_required');
    assert.equal(
      errorsFor({ passwordAuth: { identityFields: ['nick'] }, fields: [{ name: 'nick', type: 'text' }] })?.passwordAuth?.identityFields?.code,
      'validation_missing_unique_constraint',
    );
    assert.equal(errorsFor({ passwordAuth: { identityFields: ['ghost'] } })?.passwordAuth?.identityFields?.code, 'validation_missing_field');
    assert.equal(errorsFor({ mfa: { enabled: true } })?.mfa?.enabled?.code, 'validation_mfa_not_enough_auths');
    assert.equal(errorsFor({ oauth2: { enabled: true, providers: [{ name: 'x' }] } })?.oauth2?.providers?.['0']?.clientId?.code, 'validation_required');
    const dupProviders = errorsFor({
      oauth2: {
        enabled: true,
        providers: [
          { name: 'g', clientId: 'a', clientSecret: 'b' },
          { name: 'g', clientId: 'a', clientSecret: 'b' },
        ],
      },
    });
    assert.equal(dupProviders?.oauth2?.providers?.['1']?.name?.code, 'validation_duplicated_provider');
    assert.equal(
      errorsFor({
        passwordAuth: { identityFields: ['email', 'nick'] },
        fields: [{ name: 'nick', type: 'text' }],
        indexes: ['CREATE UNIQUE INDEX idx_nick ON m (nick)'],
      }),
      null,
    );
  });
});
