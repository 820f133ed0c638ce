/**
 * The document builder on its own (no server): names that collide once PascalCased stay distinct, every
 * operationId is unique, custom route paths (params, the `{rest...}` wildcard, a trailing slash) become
 * OpenAPI templates, auth routes follow the collection's enabled methods, and arbitrary collection names and
 * custom routes still give a valid OpenAPI 3.1 document.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Validator } from '@seriousme/openapi-schema-validator';
import type { AuthCollection, Collection } from '../collections/model.js';
import { normalizeCollection } from '../collections/normalize-collection.js';
import { systemCollections } from '../collections/system-collections.js';
import { schemaOf } from '../collections/fields/test-support.js';
import { buildDocument, type CustomRouteInfo, type DocumentInput } from './index.js';

type Doc = {
  paths: Record<string, Record<string, { operationId: string; parameters?: Array<{ name: string; in: string }> }>>;
  components: { schemas: Record<string, unknown> };
};

const system = systemCollections();
function collection(name: string, input: Record<string, unknown> = {}): Collection {
  return normalizeCollection(
    { name, type: 'base', listRule: '', viewRule: '', fields: [{ name: 'title', type: 'text' }], ...input },
    undefined,
    schemaOf(system),
  );
}
const build = (collections: Collection[], customRoutes: CustomRouteInfo[] = [], audience: DocumentInput['audience'] = 'superuser') =>
  buildDocument({
    collections: [...system, ...collections],
    builtins: [{ method: 'GET', url: '/api/health' }],
    customRoutes,
    audience,
    title: 'Test',
    version: '1.0.0',
  }) as unknown as Doc;

function operationIds(doc: Doc): string[] {
  return Object.values(doc.paths).flatMap((item) => Object.values(item).map((op) => op.operationId));
}

describe('OpenAPI document builder', () => {
  it('keeps collections whose PascalCase names collide apart (schemas and operationIds)', () => {
    const doc = build([collection('blog_posts'), collection('blogPosts'), collection('BlogPosts_')]);
    for (const name of ['BlogPostsRecord', 'BlogPosts2Record', 'BlogPosts3Record']) assert.ok(doc.components.schemas[name], name);
    const ids = operationIds(doc);
    assert.equal(new Set(ids).size, ids.length, 'operationIds are unique');
    assert.ok(ids.includes('listBlogPosts') && ids.includes('listBlogPosts2'));
  });

  it('turns custom route paths into OpenAPI templates', () => {
    const doc = build(
      [],
      [
        { method: 'GET', path: '/api/shop/{shop}/items/{id}' },
        { method: 'GET', path: '/assets/{path...}' },
        { method: 'POST', path: '/hooks/in/' },
        { method: 'DELETE', path: '/api/shop/{store}/items/{itemId}' },
      ],
    );
    const params = (path: string, method = 'get') => doc.paths[path]?.[method]?.parameters?.map((p) => `${p.in}:${p.name}`);
    assert.deepEqual(params('/api/shop/{shop}/items/{id}'), ['path:shop', 'path:id']);
    assert.deepEqual(params('/assets/{path}'), ['path:path']);
    assert.ok(doc.paths['/hooks/in']?.post, 'the trailing slash is dropped');
    assert.deepEqual(params('/api/shop/{shop}/items/{id}', 'delete'), ['path:shop', 'path:id'], 'one template per path shape');
    assert.equal(doc.paths['/api/shop/{store}/items/{itemId}'], undefined);
  });

  it('lists only the auth methods a collection has enabled', () => {
    const users = system.find((c) => c.name === 'users') as AuthCollection;
    const withOtp = {
      ...users,
      id: 'members_id',
      name: 'members',
      otp: { ...users.otp, enabled: true },
      passwordAuth: { ...users.passwordAuth, enabled: false },
    };
    const doc = build([withOtp]);
    assert.ok(doc.paths['/api/collections/members/auth-with-otp']?.post);
    assert.ok(doc.paths['/api/collections/members/request-otp']?.post);
    assert.equal(doc.paths['/api/collections/members/auth-with-password'], undefined);
    assert.equal(doc.paths['/api/collections/members/auth-with-oauth2'], undefined);
    assert.ok(doc.paths['/api/collections/users/auth-with-password']?.post);
  });

  it('is valid OpenAPI 3.1 for arbitrary collection names, fields and custom routes (both audiences)', async () => {
    const validator = new Validator();
    const name = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,12}$/).filter((n) => !n.startsWith('_') && !['users'].includes(n.toLowerCase()));
    const segment = fc.stringMatching(/^[a-z0-9-]{1,8}$/);
    const route = fc.record({
      method: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE'),
      path: fc
        .array(fc.oneof(segment, fc.constantFrom('{id}', '{slug}')), { minLength: 1, maxLength: 4 })
        .map((parts) => `/x/${[...new Set(parts)].join('/')}`),
      auth: fc.constantFrom('public', 'guest', 'any', 'superuser', { collection: 'users' }) as fc.Arbitrary<CustomRouteInfo['auth']>,
    });
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(name, { minLength: 1, maxLength: 4, selector: (n) => n.toLowerCase() }),
        fc.uniqueArray(route, { maxLength: 4, selector: (r) => `${r.method} ${r.path}` }),
        fc.constantFrom('superuser', 'public') as fc.Arbitrary<DocumentInput['audience']>,
        async (names, routes, audience) => {
          const collections = names.map((n, i) =>
            collection(n, {
              type: i % 3 === 2 ? 'auth' : 'base',
              listRule: i % 2 ? null : '',
              fields: [
                { name: 'kind', type: 'select', values: ['a', 'b'], maxSelect: i + 1, required: i % 2 === 0 },
                { name: 'ref', type: 'relation', collectionId: '_pb_users_auth_', maxSelect: i + 1 },
                { name: 'doc', type: 'file', maxSelect: i + 1 },
              ],
            }),
          );
          const doc = build(collections, routes, audience);
          const result = await validator.validate(doc as never);
          assert.deepEqual(result.errors ?? [], []);
          const ids = operationIds(doc);
          assert.equal(new Set(ids).size, ids.length);
        },
      ),
      { numRuns: 40 },
    );
  });
});
