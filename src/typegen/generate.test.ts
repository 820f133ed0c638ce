import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import ts from 'typescript';
import type { BaseCollection, Field } from '../collections/model.js';
import { defaultIdField, makeField, usersCollection } from '../collections/system-collections.js';
import { generateTypes } from './generate.js';

function base(name: string, fields: Field[], extra: Partial<BaseCollection> = {}): BaseCollection {
  return {
    id: `pbc_${name}`,
    name,
    type: 'base',
    system: false,
    fields: [defaultIdField(), ...fields],
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

/** Syntax errors of the generated text parsed as a .d.ts (no type check: the e2e test runs tsc). */
function syntaxErrors(text: string): string[] {
  const file = ts.createSourceFile('plinth-types.d.ts', text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const diags = (file as unknown as { parseDiagnostics: ts.Diagnostic[] }).parseDiagnostics;
  return diags.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
}

describe('generateTypes', () => {
  it('writes hostile select values and help texts as literals and comments that cannot break out', () => {
    const hostile = fc.string({ unit: 'binary', maxLength: 40 });
    fc.assert(
      fc.property(fc.uniqueArray(hostile, { minLength: 1, maxLength: 5 }), hostile, (values, help) => {
        const c = base('things', [
          makeField('select', { name: 'kind', values, maxSelect: 1 }),
          makeField('select', { name: 'kinds', values, maxSelect: 3 }),
          makeField('text', { name: 'note', help }),
        ]);
        const out = generateTypes([c]);
        assert.deepEqual(syntaxErrors(out), [], out);
        for (const v of values) assert.ok(out.includes(JSON.stringify(v)), `value ${JSON.stringify(v)} is in the output`);
        assert.equal((out.match(/declare module 'plinth'/g) ?? []).length, 1);
      }),
      { numRuns: 50 },
    );
  });

  it('gives every collection a unique type name, whatever the names (system, digits, clashes)', () => {
    const cols = [
      base('posts', []),
      base('_posts', [], { system: true }),
      base('blog_posts', []),
      base('BlogPosts', []),
      base('2fa', [makeField('json', { name: 'data' }), makeField('json', { name: 'Data' })]),
      base('collections', []),
      base('geo_point', []),
    ];
    const out = generateTypes(cols);
    assert.deepEqual(syntaxErrors(out), []);
    const names = [...out.matchAll(/^export interface (\w+)Record\b/gm)].map((m) => m[1]);
    assert.equal(new Set(names).size, cols.length, names.join(','));
    assert.match(out, /export interface PostsRecord \{/);
    assert.match(out, /export interface SystemPostsRecord \{/);
    assert.match(out, /export interface C2faRecord<TData = unknown, TData2 = unknown> \{/);
    assert.match(out, /export interface GeoPoint2Record \{/);
    assert.match(out, /Collections2 = "collections",/);
  });

  it('types fields by kind: select unions, multi values, json generics, auth fields', () => {
    const users = usersCollection();
    const posts = base('posts', [
      makeField('select', { name: 'status', values: ['draft', "it's"], maxSelect: 1, required: true }),
      makeField('select', { name: 'mood', values: ['a'], maxSelect: 1 }),
      makeField('relation', { name: 'owner', collectionId: users.id, maxSelect: 1 }),
      makeField('relation', { name: 'gone', collectionId: 'pbc_deleted', maxSelect: 2 }),
      makeField('password', { name: 'pin' }),
      makeField('text', { name: 'secret', hidden: true }),
      makeField('autodate', { name: 'created', onCreate: true }),
    ]);
    const out = generateTypes([users, posts], { system: false });
    assert.match(out, /status: "draft" \| "it's";/);
    assert.match(out, /mood: "a" \| '';/);
    assert.match(out, /owner\?: UsersResponse;/);
    assert.match(out, /gone\?: Record<string, unknown>\[\];/, 'a relation to a missing collection stays loose');
    assert.match(out, /posts_via_owner\?: PostsResponse\[\];/);
    assert.doesNotMatch(out, /pin:/, 'password fields are not in records');
    assert.match(out, /export interface PostsCreate \{[^}]*pin\?: string;/s, 'but are inputs');
    assert.match(out, /\/\*\* hidden: returned to superusers only \*\/\n {2}secret\?: string;/);
    const create = out.slice(out.indexOf('export interface PostsCreate'));
    assert.doesNotMatch(create.slice(0, create.indexOf('}')), /^ {2}created/m, 'autodate is not an input');
    assert.match(create, /^ {2}status: "draft" \| "it's";$/m, 'a required select takes no empty value');
    assert.doesNotMatch(out, /tokenKey/);
    assert.match(out, /export interface UsersCreate \{[^}]*password: string;\n {2}passwordConfirm: string;/s);
    assert.doesNotMatch(out, /_superusers/, 'system collections can be left out');
  });
});
