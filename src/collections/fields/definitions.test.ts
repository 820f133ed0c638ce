import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BaseCollection, Collection, Field } from '../model.js';
import { FIELD_TYPE_REGISTRY, fieldDefinitionTypeErrors, getFieldType } from './index.js';
import { makeTestField, schemaOf } from './test-support.js';

function collectionWith(fields: Field[], extra: Partial<BaseCollection> = {}): BaseCollection {
  return {
    id: 'pbc_1',
    name: 'posts',
    type: 'base',
    system: false,
    fields,
    indexes: [],
    listRule: null,
    viewRule: null,
    createRule: null,
    updateRule: null,
    deleteRule: null,
    created: '',
    updated: '',
    ...extra,
  };
}

function errorsOf(field: Field, others: Collection[] = [], collection = collectionWith([field])): Record<string, unknown> | null {
  return getFieldType(field.type).validateDefinition(field, { collection, schema: schemaOf(others) }) as Record<string, unknown> | null;
}

function codeAt(errors: Record<string, unknown> | null, key: string): string | undefined {
  return (errors?.[key] as { code?: string } | undefined)?.code;
}

describe('normalizeDefinition', () => {
  it('fills PocketBase defaults, drops unknown keys and sorts keys', () => {
    const f = getFieldType('text').normalizeDefinition({ name: 'title', type: 'text', evil: '__proto__', required: true });
    assert.deepEqual(Object.keys(f), [
      'autogeneratePattern',
      'help',
      'hidden',
      'id',
      'max',
      'min',
      'name',
      'pattern',
      'presentable',
      'primaryKey',
      'required',
      'system',
      'type',
    ]);
    assert.equal(f.required, true);
    assert.equal(f.max, 0);
    assert.equal((f as unknown as Record<string, unknown>).evil, undefined);
  });

  it('never throws and falls back to defaults for mistyped options', () => {
    for (const type of Object.keys(FIELD_TYPE_REGISTRY) as Field['type'][]) {
      const f = getFieldType(type).normalizeDefinition({ name: 5, id: {}, required: 'yes', min: 'x', maxSelect: 1.5, values: 'a', hidden: null });
      assert.equal(f.type, type);
      assert.equal(f.name, '');
    }
  });

  it('reports mistyped options', () => {
    assert.deepEqual(Object.keys(fieldDefinitionTypeErrors('select', { name: 'x', values: 'a', maxSelect: 1.5 }) ?? {}).sort(), ['maxSelect', 'values']);
    assert.equal(fieldDefinitionTypeErrors('number', { name: 'x', min: null, max: 5 }), null);
    assert.equal(fieldDefinitionTypeErrors('date', { name: 'x', min: 'not a date' })?.min && true, true);
  });

  it('has the PocketBase zero values per type', () => {
    assert.deepEqual(getFieldType('number').normalizeDefinition({ name: 'n' }), {
      help: '',
      hidden: false,
      id: '',
      max: null,
      min: null,
      name: 'n',
      onlyInt: false,
      presentable: false,
      required: false,
      system: false,
      type: 'number',
    });
    const file = getFieldType('file').normalizeDefinition({ name: 'doc' });
    assert.equal(file.mimeTypes, null);
    assert.equal(file.maxSize, 0);
    assert.equal(getFieldType('email').normalizeDefinition({ name: 'e' }).onlyDomains, null);
  });
});

describe('common definition checks', () => {
  it('checks names like PocketBase (plus no leading digit)', () => {
    const cases: Array<[string, string]> = [
      ['', 'validation_required'],
      ['bad name', 'validation_match_invalid'],
      ['1abc', 'validation_match_invalid'],
      ['x'.repeat(101), 'validation_length_out_of_range'],
      ['expand', 'validation_not_in_invalid'],
      ['collectionId', 'validation_not_in_invalid'],
      ['_ROWID_', 'validation_not_in_invalid'],
      ['null', 'validation_not_in_invalid'],
      ['author_via_post', 'validation_found_via'],
    ];
    for (const [name, code] of cases) assert.equal(codeAt(errorsOf(makeTestField('bool', { name })), 'name'), code, name);
    assert.equal(errorsOf(makeTestField('bool', { name: 'ok_name' })), null);
    assert.equal(codeAt(errorsOf(makeTestField('bool', { name: 'ok', id: '' })), 'id'), 'validation_required');
  });
});

describe('type-specific definition checks', () => {
  it('text: min/max, pattern, primary key, autogenerate', () => {
    assert.equal(codeAt(errorsOf(makeTestField('text', { min: -1 })), 'min'), 'validation_min_greater_equal_than_required');
    assert.equal(codeAt(errorsOf(makeTestField('text', { min: 10, max: 5 })), 'max'), 'validation_min_greater_equal_than_required');
    assert.equal(codeAt(errorsOf(makeTestField('text', { pattern: '(' })), 'pattern'), 'validation_invalid_regex');
    assert.equal(codeAt(errorsOf(makeTestField('text', { pattern: '(?=x)' })), 'pattern'), 'validation_invalid_regex', 'lookarounds are not RE2');
    assert.equal(codeAt(errorsOf(makeTestField('text', { pattern: 'a'.repeat(1001) })), 'pattern'), 'validation_invalid_regex');
    assert.equal(codeAt(errorsOf(makeTestField('text', { name: 'slug', primaryKey: true, required: true, pattern: 'x' })), 'name'), 'validation_in_invalid');
    assert.equal(codeAt(errorsOf(makeTestField('text', { name: 'id', primaryKey: true, required: true })), 'pattern'), 'validation_required');
    assert.equal(codeAt(errorsOf(makeTestField('text', { name: 'id', primaryKey: true, pattern: 'x', hidden: true })), 'hidden'), 'validation_empty');
    assert.equal(
      codeAt(errorsOf(makeTestField('text', { autogeneratePattern: '[a-z]{20}', max: 10 })), 'autogeneratePattern'),
      'validation_invalid_autogenerate_pattern_value',
    );
    assert.equal(
      codeAt(errorsOf(makeTestField('text', { autogeneratePattern: '[^\\x00-\\x{10FFFF}]' })), 'autogeneratePattern'),
      'validation_invalid_autogenerate_pattern',
    );
    assert.equal(codeAt(errorsOf(makeTestField('text', { autogeneratePattern: '(a' })), 'autogeneratePattern'), 'validation_invalid_regex');
    assert.equal(errorsOf(makeTestField('text', { autogeneratePattern: '[a-z0-9]{15}', min: 15, max: 15, pattern: '^[a-z0-9]+$' })), null);
    const a = makeTestField('text', { name: 'id', primaryKey: true, required: true, pattern: 'x' });
    const b = makeTestField('text', { name: 'id2', id: 'other', primaryKey: true, required: true, pattern: 'x' });
    assert.equal(codeAt(errorsOf(a, [], collectionWith([a, b])), 'primaryKey'), 'validation_unsupported_composite_pk');
  });

  it('number: onlyInt bounds and max ≥ min', () => {
    assert.equal(codeAt(errorsOf(makeTestField('number', { onlyInt: true, min: 1.5 })), 'min'), 'validation_only_int_constraint');
    assert.equal(codeAt(errorsOf(makeTestField('number', { min: 5, max: 1 })), 'max'), 'validation_min_greater_equal_than_required');
    assert.equal(errorsOf(makeTestField('number', { min: 1, max: 5, onlyInt: true })), null);
  });

  it('email/url: only one domain list, valid domains', () => {
    const both = errorsOf(makeTestField('email', { onlyDomains: ['a.com'], exceptDomains: ['b.com'] }));
    assert.equal(codeAt(both, 'onlyDomains'), 'validation_empty');
    assert.equal(codeAt(both, 'exceptDomains'), 'validation_empty');
    const bad = errorsOf(makeTestField('url', { onlyDomains: ['ok.com', 'not a domain'] }));
    assert.deepEqual(bad, { onlyDomains: { '1': { code: 'validation_is_domain', message: 'Must be a valid domain.' } } });
  });

  it('select: values required, maxSelect ≤ number of values', () => {
    assert.equal(codeAt(errorsOf(makeTestField('select', { values: [] })), 'values'), 'validation_required');
    assert.equal(codeAt(errorsOf(makeTestField('select', { values: ['a', 'b'], maxSelect: 3 })), 'maxSelect'), 'validation_max_less_equal_than_required');
    assert.equal(errorsOf(makeTestField('select', { values: ['a', 'b'], maxSelect: 2 })), null);
  });

  it('relation: target must exist by id, cannot change, views only from views', () => {
    const users = collectionWith([], { id: '_pb_users_auth_', name: 'users' });
    const view = { ...collectionWith([], { id: 'pbc_v', name: 'v' }), type: 'view', viewQuery: 'select 1' } as Collection;
    assert.equal(codeAt(errorsOf(makeTestField('relation', { collectionId: '' })), 'collectionId'), 'validation_required');
    assert.equal(
      codeAt(errorsOf(makeTestField('relation', { collectionId: 'nope' }), [users]), 'collectionId'),
      'validation_field_relation_missing_collection',
    );
    assert.equal(
      codeAt(errorsOf(makeTestField('relation', { collectionId: 'users' }), [users]), 'collectionId'),
      'validation_field_relation_missing_collection',
      'names are not ids',
    );
    assert.equal(errorsOf(makeTestField('relation', { collectionId: '_pb_users_auth_' }), [users]), null);
    assert.equal(errorsOf(makeTestField('relation', { collectionId: 'pbc_1' }), []), null, 'self relations are allowed');
    assert.equal(
      codeAt(errorsOf(makeTestField('relation', { collectionId: 'pbc_v' }), [view]), 'collectionId'),
      'validation_relation_field_non_view_base_collection',
    );
    const rel = makeTestField('relation', { name: 'author', collectionId: '_pb_users_auth_' });
    const stored = collectionWith([rel]);
    const changed = { ...rel, collectionId: 'pbc_other' };
    const other = collectionWith([], { id: 'pbc_other', name: 'other' });
    assert.equal(codeAt(errorsOf(changed, [stored, users, other], collectionWith([changed])), 'collectionId'), 'validation_field_relation_change');
    assert.equal(codeAt(errorsOf(makeTestField('relation', { collectionId: '_pb_users_auth_', minSelect: 2 }), [users]), 'maxSelect'), 'validation_required');
    assert.equal(
      codeAt(errorsOf(makeTestField('relation', { collectionId: '_pb_users_auth_', minSelect: 3, maxSelect: 2 }), [users]), 'maxSelect'),
      'validation_min_greater_equal_than_required',
    );
  });

  it('file: thumbs format and sizes', () => {
    const errs = errorsOf(makeTestField('file', { thumbs: ['100x100', '0x0', 'big', '0x50f'] }));
    assert.deepEqual(Object.keys((errs?.thumbs as object) ?? {}), ['1', '2']);
    assert.equal(codeAt(errorsOf(makeTestField('file', { maxSize: -1 })), 'maxSize'), 'validation_min_greater_equal_than_required');
  });

  it('password: min/max within 71, cost 4..31', () => {
    assert.equal(codeAt(errorsOf(makeTestField('password', { min: 80 })), 'min'), 'validation_max_less_equal_than_required');
    assert.equal(codeAt(errorsOf(makeTestField('password', { max: 100 })), 'max'), 'validation_max_less_equal_than_required');
    assert.equal(codeAt(errorsOf(makeTestField('password', { cost: 2 })), 'cost'), 'validation_min_greater_equal_than_required');
    assert.equal(errorsOf(makeTestField('password', { min: 8, cost: 10 })), null);
  });

  it('autodate: onCreate or onUpdate; system flags frozen', () => {
    const none = errorsOf(makeTestField('autodate', { name: 'created' }));
    assert.equal(codeAt(none, 'onCreate'), 'validation_required');
    const sys = makeTestField('autodate', { name: 'created', onCreate: true, system: true });
    const stored = collectionWith([sys]);
    const flipped = { ...sys, onUpdate: true };
    assert.equal(codeAt(errorsOf(flipped, [stored], collectionWith([flipped])), 'onUpdate'), 'validation_values_mismatch');
  });

  it('date: max not before min; json/editor sizes', () => {
    assert.equal(codeAt(errorsOf(makeTestField('date', { min: '2024-02-01', max: '2024-01-01' })), 'max'), 'validation_date_out_of_range');
    assert.equal(codeAt(errorsOf(makeTestField('json', { maxSize: -5 })), 'maxSize'), 'validation_min_greater_equal_than_required');
    assert.equal(codeAt(errorsOf(makeTestField('editor', { maxSize: -5 })), 'maxSize'), 'validation_min_greater_equal_than_required');
  });
});
