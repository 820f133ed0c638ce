/**
 * GET /api/openapi.json end to end: the document validates as OpenAPI 3.1 (superusers' and guests' views),
 * follows the schema at runtime (a collection created, changed and deleted while the server runs: fields,
 * select enums, required fields, the cache invalidated), custom routes with and without a declared schema,
 * what a guest may see (no superuser-only collection, hidden field or route), a custom route's bad `openapi`
 * option refused at registration, and a client generated from the live document with openapi-typescript,
 * type-checked with tsc and used through openapi-fetch to list, create and view records.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import { RouteRegistry } from '../../src/http/custom-routes.js';
import type { ReloadReport } from '../../src/extend/index.js';
import { plinth } from '../helpers/cli.js';
import { writeFiles } from '../helpers/hooks.js';
import { startServer, type TestServer } from '../helpers/server.js';

type Doc = {
  openapi: string;
  tags: Array<{ name: string }>;
  paths: Record<string, Record<string, Record<string, unknown>>>;
  components: { schemas: Record<string, Record<string, unknown>>; securitySchemes: Record<string, unknown> };
};

const require = createRequire(import.meta.url);
// ajv (a dependency of fastify and of the OpenAPI validator) for JSON Schema 2020-12.
const Ajv2020 = require('ajv/dist/2020.js').default as new (
  o: object,
) => { addSchema(s: object): void; compile(s: unknown): ((v: unknown) => boolean) & { errors?: unknown } };

describe('OpenAPI document', { timeout: 120_000 }, () => {
  let s: TestServer;
  const routes = new RouteRegistry();
  routes.post('/api/shop/checkout', (c) => ({ orderId: `o-${String(c.request.body.sku)}`, total: 12.5 }), {
    auth: 'any',
    openapi: {
      summary: 'Check out the cart',
      description: 'Charges the card on file.',
      tags: ['Shop'],
      operationId: 'shopCheckout',
      query: { coupon: { type: 'string', description: 'A coupon code.' } },
      body: { type: 'object', properties: { sku: { type: 'string' }, qty: { type: 'integer', minimum: 1 } }, required: ['sku'] },
      response: { type: 'object', properties: { orderId: { type: 'string' }, total: { type: 'number' } }, required: ['orderId', 'total'] },
      responses: { '409': { description: 'Out of stock' } },
    },
  });
  routes.get('/api/shop/orders/{id}', (c) => ({ id: c.request.params.id }));
  routes.get('/api/shop/admin-report', () => ({ ok: true }), { auth: 'superuser', openapi: { summary: 'Sales report', tags: ['Shop'] } });
  routes.get('/api/shop/internal', () => ({ ok: true }), { openapi: { exclude: true } });
  // Superuser-only by another spelling: the superusers' auth collection by name or id.
  routes.get('/api/shop/payouts', () => ({ ok: true }), { auth: { collection: '_superusers' }, openapi: { summary: 'Payouts' } });
  routes.post('/api/shop/payouts/{id}/approve', () => ({ ok: true }), { auth: { collection: ['pbc_3142635823'] } });
  // Records of a public collection and of one the public document leaves out.
  routes.get('/api/shop/backoffice', () => ({ ok: true }), { auth: { collection: ['users', 'warehouse_staff'] } });

  const doc = async (token?: string): Promise<Doc> => {
    const res = await s.fetch('/api/openapi.json', token ? { headers: { authorization: token } } : {});
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    return (await res.json()) as Doc;
  };
  const superDoc = () => doc(s.admin.authStore.token);
  const validate = async (d: unknown) => {
    const result = await new Validator().validate(d as never);
    assert.deepEqual(result.errors ?? [], [], 'the document is valid OpenAPI');
    assert.equal(result.valid, true);
  };

  before(async () => {
    s = await startServer({ routes });
    await s.admin.collections.create({
      name: 'products',
      type: 'base',
      listRule: '',
      viewRule: '',
      createRule: '',
      updateRule: null,
      deleteRule: null,
      fields: [
        { name: 'title', type: 'text', required: true, max: 120 },
        { name: 'status', type: 'select', values: ['draft', 'live', 'archived'], maxSelect: 1, required: true },
        { name: 'labels', type: 'select', values: ['new', 'sale'], maxSelect: 2 },
        { name: 'price', type: 'number', min: 0, onlyInt: false },
        { name: 'stock', type: 'number', onlyInt: true },
        { name: 'featured', type: 'bool' },
        { name: 'site', type: 'url' },
        { name: 'contact', type: 'email' },
        { name: 'launch', type: 'date' },
        { name: 'specs', type: 'json' },
        { name: 'body', type: 'editor' },
        { name: 'photos', type: 'file', maxSelect: 4, maxSize: 1 << 20 },
        { name: 'maker', type: 'relation', collectionId: '_pb_users_auth_', maxSelect: 1 },
        { name: 'place', type: 'geoPoint' },
        { name: 'cost', type: 'number', hidden: true },
        { name: 'created', type: 'autodate', onCreate: true, onUpdate: false },
      ],
    });
    await s.admin.collections.create({ name: 'ledger', type: 'base', fields: [{ name: 'amount', type: 'number' }] });
    await s.admin.collections.create({ name: 'product_titles', type: 'view', listRule: '', viewRule: '', viewQuery: 'SELECT id, title FROM products' });
  });
  after(() => s?.close());

  it('is valid OpenAPI 3.1 for superusers and for guests', async () => {
    const full = await superDoc();
    assert.equal(full.openapi, '3.1.0');
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    assert.deepEqual((full as unknown as { info: { title: string; version: string } }).info.title, 'Plinth API');
    assert.equal((full as unknown as { info: { version: string } }).info.version, pkg.version);
    await validate(full);
    await validate(await doc());
  });

  it("describes what the server answers: real records, lists, auth answers and errors match the document's schemas", async () => {
    const d = await superDoc();
    const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
    ajv.addSchema({ ...d, $id: 'plinth-openapi' });
    const check = (name: string, value: unknown) => {
      const validate = ajv.compile({ $ref: `plinth-openapi#/components/schemas/${name}` });
      assert.ok(validate(value), `${name}: ${JSON.stringify(validate.errors)} for ${JSON.stringify(value).slice(0, 400)}`);
    };
    const user = await s.admin
      .collection('users')
      .create({ email: 'maker@example.com', password: 'maker-pass-123', passwordConfirm: 'maker-pass-123', name: 'Mia' });
    const form = new FormData();
    for (const [k, v] of Object.entries({
      title: 'Chair',
      status: 'live',
      price: '12.5',
      stock: '3',
      featured: 'true',
      site: 'https://example.com',
      contact: 'a@example.com',
      launch: '2024-05-01 10:00:00.000Z',
      specs: '{"legs":4}',
      body: '<p>Oak</p>',
      maker: user.id,
      place: '{"lon":13.4,"lat":52.5}',
      cost: '7',
    }))
      form.append(k, v);
    form.append('labels', 'new');
    form.append('labels', 'sale');
    form.append('photos', new Blob([Buffer.from('GIF89a\x01\x00\x01\x00\x00\x00\x00;')], { type: 'image/gif' }), 'chair.gif');
    const created = await s.admin.collection('products').create(form, { expand: 'maker' });
    check('ProductsRecord', created);
    const recordSchema = ajv.compile({ $ref: 'plinth-openapi#/components/schemas/ProductsRecord' });
    assert.equal(recordSchema({ ...created, status: 'sold-out' }), false, 'the schemas do refuse what the server never answers');
    assert.equal(recordSchema({ ...created, labels: 'new' }), false);
    assert.equal(recordSchema({ ...created, expand: { maker: { id: 1 } } }), false);
    const empty = await s.admin.collection('products').create({ title: 'Stool', status: 'draft' });
    check('ProductsRecord', empty);
    check('ProductsList', await s.admin.collection('products').getList(1, 10, { expand: 'maker' }));
    check('ProductsList', await s.client().collection('products').getList(1, 10, { skipTotal: true }));
    check('ProductTitlesList', await s.client().collection('product_titles').getList(1, 10));
    check('UsersRecord', await s.admin.collection('users').getOne(user.id));
    const login = await s.client().collection('users').authWithPassword('maker@example.com', 'maker-pass-123');
    check('UsersAuthResponse', login);
    const refused = await s.fetch('/api/collections/products/records', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"status":"gone"}',
    });
    assert.equal(refused.status, 400);
    check('Error', await refused.json());
    check('Error', await (await s.fetch('/api/collections/ledger/records')).json());
    // The built-in collections API too.
    const collections = await s.admin.collections.getList(1, 50);
    const listSchema = ajv.compile({ $ref: 'plinth-openapi#/paths/~1api~1collections/get/responses/200/content/application~1json/schema' });
    assert.ok(listSchema(collections), JSON.stringify((listSchema as { errors?: unknown }).errors));
    check('CollectionModel', await s.admin.collections.getOne('users'));
  });

  it('describes built-in routes, the error envelope and the token security scheme', async () => {
    const d = await superDoc();
    for (const p of [
      '/api/health',
      '/api/collections',
      '/api/settings',
      '/api/logs',
      '/api/crons',
      '/api/backups',
      '/api/batch',
      '/api/realtime',
      '/api/jobs',
      '/api/webhooks',
    ]) {
      assert.ok(d.paths[p], `${p} is listed`);
    }
    assert.ok(d.paths['/api/files/{collection}/{recordId}/{filename}']?.get);
    assert.deepEqual(d.components.securitySchemes.pbToken, {
      type: 'apiKey',
      in: 'header',
      name: 'Authorization',
      description: 'An auth token from an auth-with-* route (or an API key), sent as is or as `Bearer <token>`.',
    });
    const error = d.components.schemas.Error as { required: string[] };
    assert.deepEqual(error.required, ['status', 'message', 'data']);
    const list = d.paths['/api/collections/products/records']?.get as { responses: Record<string, { $ref?: string }> };
    assert.equal(list.responses['404']?.$ref, '#/components/responses/NotFound');
  });

  it("reflects a collection's fields, select enums and required fields", async () => {
    const d = await superDoc();
    const list = d.paths['/api/collections/products/records']?.get as { parameters: Array<{ $ref: string }> };
    const shared = (d.components as unknown as { parameters: Record<string, { name: string; in: string }> }).parameters;
    assert.deepEqual(
      list.parameters.map((p) => shared[p.$ref.replace('#/components/parameters/', '')]?.name),
      ['page', 'perPage', 'sort', 'filter', 'skipTotal', 'expand', 'fields'],
    );
    assert.deepEqual(shared.perPage, {
      name: 'perPage',
      in: 'query',
      schema: { type: 'integer', minimum: 1, maximum: 1000, default: 30 },
      description: 'Items per page.',
    });
    const record = d.components.schemas.ProductsRecord as { properties: Record<string, Record<string, unknown>>; required: string[] };
    assert.deepEqual(record.properties.status?.enum, ['draft', 'live', 'archived', '']);
    assert.deepEqual((record.properties.labels as { items: unknown }).items, { type: 'string', enum: ['new', 'sale'] });
    assert.equal(record.properties.stock?.type, 'number');
    assert.equal(record.properties.featured?.type, 'boolean');
    assert.equal(record.properties.created?.readOnly, true);
    assert.ok(record.required.includes('title') && record.required.includes('id') && !record.required.includes('cost'));
    assert.match(String(record.properties.cost?.description), /superusers only/);
    const expand = record.properties.expand as { properties: Record<string, unknown> };
    assert.deepEqual(expand.properties.maker, { $ref: '#/components/schemas/UsersRecord' });

    const create = d.components.schemas.ProductsCreate as { properties: Record<string, Record<string, unknown>>; required: string[] };
    assert.deepEqual(create.required, ['title', 'status']);
    assert.deepEqual(create.properties.status?.enum, ['draft', 'live', 'archived']);
    assert.equal(create.properties.stock?.type, 'integer');
    assert.equal(create.properties.created, undefined, 'autodate is not an input');
    const createOp = d.paths['/api/collections/products/records']?.post as {
      requestBody: { content: Record<string, { schema: { properties: Record<string, unknown> } }> };
    };
    assert.deepEqual(createOp.requestBody.content['multipart/form-data']?.schema, { $ref: '#/components/schemas/ProductsCreateMultipart' });
    const multipart = (d.components.schemas.ProductsCreateMultipart as { properties: Record<string, unknown> }).properties.photos as {
      type: string;
      items: unknown;
    };
    assert.equal(multipart.type, 'array');
    assert.deepEqual(multipart.items, { type: 'string', contentMediaType: 'application/octet-stream' });
    const update = d.components.schemas.ProductsUpdate as { properties: Record<string, unknown>; required?: string[] };
    assert.equal(update.required, undefined);
    assert.ok(update.properties['labels+'] && update.properties['price-']);

    // A view collection is read-only; an auth collection has its auth routes and password inputs.
    assert.deepEqual(Object.keys(d.paths['/api/collections/product_titles/records'] ?? {}), ['get']);
    assert.deepEqual(Object.keys(d.paths['/api/collections/product_titles/records/{id}'] ?? {}), ['get']);
    for (const route of [
      'auth-methods',
      'auth-with-password',
      'auth-refresh',
      'request-verification',
      'confirm-verification',
      'request-password-reset',
      'confirm-password-reset',
      'request-email-change',
      'confirm-email-change',
      'impersonate/{id}',
    ]) {
      assert.ok(d.paths[`/api/collections/users/${route}`], `users/${route}`);
    }
    const usersCreate = d.components.schemas.UsersCreate as { required: string[]; properties: Record<string, unknown> };
    assert.ok(usersCreate.required.includes('password') && usersCreate.required.includes('passwordConfirm'));
    assert.equal((d.components.schemas.UsersRecord as { properties: Record<string, unknown> }).properties.password, undefined);
  });

  it('follows schema changes at runtime (the cached document is rebuilt; the ETag changes with it)', async () => {
    const auth = { authorization: s.admin.authStore.token };
    const etag = (await s.fetch('/api/openapi.json', { headers: auth })).headers.get('etag') ?? '';
    assert.match(etag, /^"[\w-]{27}"$/);
    assert.equal((await s.fetch('/api/openapi.json', { headers: { ...auth, 'if-none-match': etag } })).status, 304);
    assert.notEqual((await s.fetch('/api/openapi.json')).headers.get('etag'), etag, "the guests' document is another");
    const before = await superDoc();
    assert.equal(before.paths['/api/collections/gadgets/records'], undefined);
    const created = await s.admin.collections.create({
      name: 'gadgets',
      type: 'base',
      fields: [{ name: 'kind', type: 'select', values: ['a', 'b'], maxSelect: 1, required: true }],
    });
    const fresh = await s.fetch('/api/openapi.json', { headers: { ...auth, 'if-none-match': etag } });
    assert.equal(fresh.status, 200, 'a schema change makes the old ETag stale');
    assert.notEqual(fresh.headers.get('etag'), etag);
    let d = (await fresh.json()) as Doc;
    assert.deepEqual((d.components.schemas.GadgetsCreate as { properties: { kind: { enum: string[] } } }).properties.kind.enum, ['a', 'b']);
    await s.admin.collections.update(created.id, {
      fields: [
        ...created.fields.filter((f) => f.name !== 'kind'),
        { ...created.fields.find((f) => f.name === 'kind'), values: ['a', 'b', 'c'], required: false },
      ],
    });
    d = await superDoc();
    const kind = d.components.schemas.GadgetsCreate as { properties: { kind: { enum: string[] } }; required?: string[] };
    assert.deepEqual(kind.properties.kind.enum, ['a', 'b', 'c', '']);
    assert.equal(kind.required, undefined);
    await s.admin.collections.delete(created.id);
    d = await superDoc();
    assert.equal(d.paths['/api/collections/gadgets/records'], undefined);
    assert.equal(d.components.schemas.GadgetsRecord, undefined);
  });

  it('lists custom routes: declared schemas, a minimal entry for undeclared ones, excluded ones left out', async () => {
    const d = await superDoc();
    const checkout = d.paths['/api/shop/checkout']?.post as Record<string, unknown> & {
      requestBody: { content: { 'application/json': { schema: unknown } } };
      responses: Record<string, { content?: { 'application/json': { schema: unknown } }; description: string }>;
      parameters: Array<{ name: string; in: string }>;
    };
    assert.equal(checkout.summary, 'Check out the cart');
    assert.equal(checkout.operationId, 'shopCheckout');
    assert.deepEqual(checkout.tags, ['Shop']);
    assert.deepEqual(checkout.security, [{ pbToken: [] }]);
    assert.deepEqual((checkout.requestBody.content['application/json'].schema as { required: string[] }).required, ['sku']);
    assert.deepEqual((checkout.responses['200']?.content?.['application/json'].schema as { required: string[] }).required, ['orderId', 'total']);
    assert.equal(checkout.responses['409']?.description, 'Out of stock');
    assert.deepEqual(
      checkout.parameters.map((p) => `${p.in}:${p.name}`),
      ['query:coupon'],
    );
    const order = d.paths['/api/shop/orders/{id}']?.get as { parameters: Array<{ name: string; in: string }>; tags: string[]; description: string };
    assert.deepEqual(
      order.parameters.map((p) => `${p.in}:${p.name}`),
      ['path:id'],
    );
    assert.deepEqual(order.tags, ['Custom']);
    assert.match(order.description, /declares no schema/);
    assert.ok(d.paths['/api/shop/admin-report']?.get);
    assert.equal(d.paths['/api/shop/internal'], undefined);
    assert.ok(d.tags.some((t) => t.name === 'Shop'));

    // Added at runtime (a dev reload): the document follows.
    routes.get('/api/shop/late', () => ({}), { openapi: { summary: 'Added later' } });
    try {
      assert.equal(((await superDoc()).paths['/api/shop/late']?.get as { summary: string }).summary, 'Added later');
    } finally {
      routes.remove('GET', '/api/shop/late');
    }
    assert.equal((await superDoc()).paths['/api/shop/late'], undefined);
  });

  it('shows guests only what they may call: no superuser-only collection, hidden field, route or operation', async () => {
    const g = await doc();
    assert.ok(g.paths['/api/collections/products/records']?.get);
    assert.ok(g.paths['/api/collections/products/records']?.post);
    assert.equal(g.paths['/api/collections/products/records/{id}']?.patch, undefined, 'updateRule null');
    assert.equal(g.paths['/api/collections/products/records/{id}']?.delete, undefined, 'deleteRule null');
    assert.equal(g.paths['/api/collections/ledger/records'], undefined, 'every rule null');
    assert.equal(g.components.schemas.LedgerRecord, undefined);
    assert.equal(g.paths['/api/collections/_superusers/auth-with-password'], undefined);
    const record = g.components.schemas.ProductsRecord as { properties: Record<string, unknown> };
    assert.equal(record.properties.cost, undefined, 'hidden field');
    assert.equal((g.components.schemas.ProductsCreate as { properties: Record<string, unknown> }).properties.cost, undefined);
    for (const p of [
      '/api/settings',
      '/api/collections',
      '/api/logs',
      '/api/backups',
      '/api/backups/{key}',
      '/api/jobs',
      '/api/webhooks',
      '/api/sql',
      '/api/shop/admin-report',
    ]) {
      assert.equal(g.paths[p], undefined, `${p} is not shown to guests`);
    }
    assert.equal(g.paths['/api/collections/users/impersonate/{id}'], undefined);
    // Rule expressions (which may name hidden fields) are for superusers' eyes only.
    const usersList = (u: Doc) => (u.paths['/api/collections/users/records']?.get as { description: string }).description;
    assert.equal(usersList(g), "Callers the collection's rule admits.");
    assert.match(usersList(await superDoc()), /^Rule: `id = @request.auth.id`$/);
    assert.ok(!JSON.stringify(g).includes('@request.auth'), 'no rule text in the public view');
    assert.ok(g.paths['/api/collections/users/auth-with-password']?.post);
    assert.ok(g.paths['/api/shop/checkout']?.post, 'a route for signed-in records is listed');
    assert.ok(g.paths['/api/health']?.get);
    // A signed-in regular user gets the same public view.
    const user = await s.client().collection('users').create({ email: 'reader@example.com', password: 'reader-pass-123', passwordConfirm: 'reader-pass-123' });
    const pb = s.client();
    await pb.collection('users').authWithPassword('reader@example.com', 'reader-pass-123');
    assert.equal(user.email === undefined || user.email === 'reader@example.com', true);
    const u = await doc(pb.authStore.token);
    assert.deepEqual(Object.keys(u.paths).sort(), Object.keys(g.paths).sort());
    // API keys act on the records API only: refused here as on every other route.
    const key = (await s.admin.send('/api/api-keys', { method: 'POST', body: { name: 'svc', scopes: ['*:list'] } })) as { key: string };
    assert.equal((await s.fetch('/api/openapi.json', { headers: { authorization: key.key } })).status, 403);
  });

  it('a custom route only superusers may call is left out of the public view however its guard names them; hidden collections are not named', async () => {
    const staff = await s.admin.collections.create({ name: 'warehouse_staff', type: 'auth', fields: [] });
    try {
      const g = await doc();
      assert.equal(g.paths['/api/shop/payouts'], undefined, "{ collection: '_superusers' } is superuser-only");
      assert.equal(g.paths['/api/shop/payouts/{id}/approve'], undefined, 'the superusers collection by id');
      const backoffice = g.paths['/api/shop/backoffice']?.get as { description?: string } | undefined;
      assert.ok(backoffice, 'a route for records of a public collection is listed');
      assert.ok(!JSON.stringify(g).includes('warehouse_staff'), 'a collection left out of the public view is not named by a route either');
      assert.match(backoffice.description ?? '', /`users`/);
      const su = await superDoc();
      assert.ok(su.paths['/api/shop/payouts']?.get);
      assert.ok(su.paths['/api/shop/payouts/{id}/approve']?.post);
      assert.match((su.paths['/api/shop/backoffice']?.get as { description: string }).description, /`users`, `warehouse_staff`/);
    } finally {
      await s.admin.collections.delete(staff.id);
    }
  });

  it('refuses a custom route whose openapi option is malformed, naming the problem', () => {
    const r = new RouteRegistry();
    assert.throws(
      () => r.get('/api/x/a', () => 1, { openapi: { sumary: 'typo' } as never }),
      /openapi option for custom route GET \/api\/x\/a: unknown key "sumary"/,
    );
    assert.throws(() => r.get('/api/x/b', () => 1, { openapi: { body: 'string' as never } }), /body must be a JSON Schema/);
    assert.throws(() => r.get('/api/x/c', () => 1, { openapi: { responses: { ok: {} } } as never }), /"ok" is not a status code/);
    assert.throws(() => r.get('/api/x/d', () => 1, { openapi: { tags: [''] } }), /tags must be non-empty strings/);
    assert.equal(r.size, 0);
  });

  it('generates a typed client (openapi-typescript + tsc) that lists, creates and views records (openapi-fetch)', async () => {
    const { default: openapiTS, astToString } = await import('openapi-typescript');
    const live = await superDoc();
    const types = astToString(await openapiTS(live as never));
    assert.match(types, /ProductsRecord: \{/);
    assert.match(types, /"draft" \| "live" \| "archived"/);

    // Type-check a client against the generated types: the right calls compile, a wrong enum value does not.
    const dir = mkdtempSync(join(tmpdir(), 'plinth-openapi-'));
    try {
      writeFileSync(join(dir, 'api.d.ts'), types);
      const client = (extra: string) => `import createClient from 'openapi-fetch';
import type { paths, components } from './api';
const client = createClient<paths>({ baseUrl: 'http://127.0.0.1' });
export async function run(): Promise<components['schemas']['ProductsRecord'] | undefined> {
  const created = await client.POST('/api/collections/products/records', { body: { title: 'Lamp', status: 'live', labels: ['new'], price: 9.5 } });
  const id: string | undefined = created.data?.id;
  const list = await client.GET('/api/collections/products/records', { params: { query: { page: 1, perPage: 5, filter: "status = 'live'", sort: '-created' } } });
  const total: number | undefined = list.data?.totalItems;
  void total;
  const one = await client.GET('/api/collections/products/records/{id}', { params: { path: { id: id ?? '' } } });
  ${extra}
  return one.data;
}
`;
      writeFileSync(join(dir, 'good.ts'), client(''));
      writeFileSync(join(dir, 'bad.ts'), client("await client.POST('/api/collections/products/records', { body: { title: 'x', status: 'sold-out' } });"));
      const ts = (await import('typescript')).default;
      const fetchTypes = join(dirname(require.resolve('openapi-fetch/package.json')), 'dist', 'index.d.mts');
      const diagnostics = (file: string) => {
        const program = ts.createProgram([join(dir, file)], {
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          target: ts.ScriptTarget.ES2022,
          module: ts.ModuleKind.ESNext,
          moduleResolution: ts.ModuleResolutionKind.Bundler,
          lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
          types: [],
          paths: { 'openapi-fetch': [fetchTypes] },
        });
        return ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      };
      const started = performance.now();
      assert.deepEqual(diagnostics('good.ts'), []);
      const bad = diagnostics('bad.ts');
      assert.ok(
        bad.some((m) => m.includes('"sold-out"')),
        `a wrong enum value fails to compile: ${bad.join(' | ')}`,
      );
      assert.ok(performance.now() - started < 30_000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }

    // And the client calls the running server.
    const { default: createClient } = await import('openapi-fetch');
    const api = createClient<any>({ baseUrl: s.url });
    const created = await api.POST('/api/collections/products/records', { body: { title: 'Lamp', status: 'live', labels: ['new'], price: 9.5 } });
    assert.equal(created.response.status, 200, JSON.stringify(created.error));
    assert.equal(created.data.title, 'Lamp');
    const list = await api.GET('/api/collections/products/records', { params: { query: { filter: "status = 'live'", perPage: 5 } } });
    assert.equal(list.response.status, 200);
    assert.ok(list.data.items.some((r: { id: string }) => r.id === created.data.id));
    const one = await api.GET('/api/collections/products/records/{id}', { params: { path: { id: created.data.id } } });
    assert.deepEqual(one.data.labels, ['new']);
    const refused = await api.POST('/api/collections/products/records', { body: { title: 'x', status: 'sold-out' } });
    assert.equal(refused.response.status, 400);
    assert.deepEqual(Object.keys(refused.error).sort(), ['data', 'message', 'status'], "PocketBase's error envelope");
    assert.equal(refused.error.data.status.code, 'validation_invalid_value');
    const checkout = await api.POST('/api/shop/checkout', { body: { sku: 'A1' } });
    assert.equal(checkout.response.status, 401, 'the route wants a signed-in record, as the document says');
  });
});

describe('OpenAPI document: custom routes from hook files (--dev reload)', { timeout: 60_000 }, () => {
  let s: TestServer;
  let dir: string;
  const reports: ReloadReport[] = [];
  const file = (summary: string | null) => `
import { defineHooks } from 'plinth';
export default defineHooks((app) => {
  ${
    summary === null
      ? ''
      : `app.routes.get('/api/hello/{name}', (c) => ({ hello: c.request.params.name }), {
    auth: 'public',
    openapi: { summary: ${JSON.stringify(summary)}, tags: ['Greetings'], response: { type: 'object', properties: { hello: { type: 'string' } } } },
  });`
  }
});
`;
  const summary = async () => {
    const d = (await (await s.fetch('/api/openapi.json')).json()) as Doc;
    return (d.paths['/api/hello/{name}']?.get as { summary?: string } | undefined)?.summary;
  };
  const reloaded = async (n: number) => {
    for (let i = 0; i < 250 && !reports.slice(n).some((r) => r.file === 'hello.ts'); i++) await new Promise((r) => setTimeout(r, 20));
    const report = reports.slice(n).find((r) => r.file === 'hello.ts');
    assert.ok(report, 'the file was reloaded');
    return report;
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'plinth-openapi-hooks-'));
    writeFiles(dir, { 'hello.ts': file('Say hello') });
    s = await startServer({ hooks: { dir, dev: true, debounceMs: 30, onReload: (r) => reports.push(r) } });
  });
  after(async () => {
    await s?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("lists app.routes' openapi option and follows the file as it changes", async () => {
    assert.equal(await summary(), 'Say hello');
    assert.deepEqual(await (await s.fetch('/api/hello/ann')).json(), { hello: 'ann' });

    let n = reports.length;
    writeFiles(dir, { 'hello.ts': file('Say hello, v2') });
    assert.equal((await reloaded(n))?.ok, true);
    assert.equal(await summary(), 'Say hello, v2');

    n = reports.length;
    writeFiles(dir, { 'hello.ts': file(null) });
    assert.equal((await reloaded(n))?.ok, true);
    assert.equal(await summary(), undefined, 'a route no file serves any more is not listed');
    assert.equal((await s.fetch('/api/hello/ann')).status, 404);

    // A malformed option fails the reload and keeps the previous generation.
    n = reports.length;
    writeFiles(dir, { 'hello.ts': file('Back').replace("tags: ['Greetings']", "tags: 'Greetings'") });
    const report = await reloaded(n);
    assert.equal(report?.ok, false);
    assert.match(String(report?.error), /Invalid openapi option for custom route GET \/api\/hello\/\{name\}: tags must be non-empty strings/);
  });
});

describe("OpenAPI: the openapi option is typed for hook files ('plinth hooks check')", { timeout: 120_000 }, () => {
  it('accepts a well-formed option and lists a misspelt key or a wrong type as type errors', () => {
    const hooks = mkdtempSync(join(tmpdir(), 'plinth-openapi-types-'));
    try {
      writeFiles(hooks, {
        'ok.ts': `import { defineHooks, type RouteOpenApi } from 'plinth';
const docs: RouteOpenApi = { summary: 'Hello', tags: ['Greetings'], response: { type: 'object' }, responses: { '404': { description: 'No one' } } };
export default defineHooks((app) => {
  app.routes.get('/api/hello', () => ({ hello: 'world' }), { auth: 'public', openapi: docs });
});
`,
      });
      const clean = plinth(['hooks', 'check', `--hooksDir=${hooks}`]);
      assert.equal(clean.code, 0, clean.out + clean.err);
      writeFiles(hooks, {
        'bad.ts': `import { defineHooks } from 'plinth';
export default defineHooks((app) => {
  app.routes.get('/api/a', () => 1, { openapi: { sumary: 'typo' } });
  app.routes.get('/api/b', () => 1, { openapi: { tags: 'One' } });
});
`,
      });
      const broken = plinth(['hooks', 'check', `--hooksDir=${hooks}`]);
      assert.equal(broken.code, 1, broken.out + broken.err);
      assert.match(broken.out, /^bad\.ts\(3,\d+\): error TS2561: .*'sumary' does not exist in type 'RouteOpenApi'/m);
      assert.match(broken.out, /^bad\.ts\(4,\d+\): error TS2322: Type 'string' is not assignable to type 'string\[\]'/m);
    } finally {
      rmSync(hooks, { recursive: true, force: true });
    }
  });
});
