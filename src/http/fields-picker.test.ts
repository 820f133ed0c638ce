import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import Fastify, { type FastifyInstance } from 'fastify';
import fc from 'fast-check';
import { AppError, fromUnknown } from '../errors/index.js';
import { fieldsPickerHook } from './fields-picker.js';
import { parseFields, pickFields } from '../records/pick-fields.js';

const record = () => ({
  id: 'r1',
  title: 'Hello',
  content: '<p>Some <b>long</b> content here</p>',
  views: 3,
  expand: {
    author: { id: 'u1', name: 'Ann', email: 'ann@example.com' },
    tags: [
      { id: 't1', name: 'a', color: 'red' },
      { id: 't2', name: 'b', color: 'blue' },
    ],
  },
});

function assertBadFields(fields: string, pattern: RegExp): void {
  assert.throws(
    () => pickFields(record(), fields),
    (err: unknown) => err instanceof AppError && err.status === 400 && err.code === 'invalid_query_param' && pattern.test(err.message),
  );
}

describe('pickFields', () => {
  it('keeps only the listed top-level keys', () => {
    assert.deepEqual(pickFields(record(), 'id,title'), { id: 'r1', title: 'Hello' });
  });

  it('accepts whitespace as a separator and ignores empty entries', () => {
    assert.deepEqual(pickFields(record(), ' id ,, title '), { id: 'r1', title: 'Hello' });
  });

  it('* keeps every key at its level', () => {
    assert.deepEqual(pickFields(record(), '*'), record());
  });

  it('selects nested keys with dotted paths', () => {
    assert.deepEqual(pickFields(record(), 'expand.author.name'), { expand: { author: { name: 'Ann' } } });
  });

  it('* combined with a nested path keeps the root and narrows the nested object', () => {
    const { expand: _e, ...rest } = record();
    assert.deepEqual(pickFields(record(), '*,expand.author.name'), { ...rest, expand: { author: { name: 'Ann' } } });
  });

  it('picks inside every element of a nested array', () => {
    assert.deepEqual(pickFields(record(), 'expand.tags.name'), { expand: { tags: [{ name: 'a' }, { name: 'b' }] } });
  });

  it('nested * keeps all keys of the nested object', () => {
    assert.deepEqual(pickFields(record(), 'id,expand.author.*'), { id: 'r1', expand: { author: record().expand.author } });
  });

  it('an exact key wins over a longer path for the same key', () => {
    assert.deepEqual(pickFields(record(), 'expand,expand.author.name'), { expand: record().expand });
  });

  it('a path through a scalar keeps the scalar (PocketBase does)', () => {
    assert.deepEqual(pickFields(record(), 'title.x'), { title: 'Hello' });
  });

  it('a trailing dot means the key itself, and dotted keys can be selected whole', () => {
    assert.deepEqual(pickFields(record(), 'id.'), { id: 'r1' });
    assert.deepEqual(pickFields({ 'a.b': 1, a: { b: 2, c: 3 } }, 'a.b'), { 'a.b': 1, a: { b: 2 } });
  });

  it('applies :excerpt to the field', () => {
    assert.deepEqual(pickFields(record(), 'id,content:excerpt(9,true)'), { id: 'r1', content: 'Some long...' });
    assert.deepEqual(pickFields(record(), 'content:excerpt( 100 )'), { content: 'Some long content here' });
    assert.deepEqual(pickFields(record(), 'content:excerpt(4, t)'), { content: 'Some...' });
    assert.deepEqual(pickFields(record(), 'content:excerpt(4,nope)'), { content: 'Some' });
  });

  it(':excerpt leaves non-string values untouched', () => {
    assert.deepEqual(pickFields(record(), 'views:excerpt(1),expand:excerpt(1)'), { views: 3, expand: record().expand });
  });

  it('*:excerpt applies to every key not otherwise listed', () => {
    const out = pickFields(record(), '*:excerpt(2),id') as Record<string, unknown>;
    assert.equal(out.id, 'r1');
    assert.equal(out.title, 'He');
    assert.equal(out.content, 'So');
    assert.equal(out.views, 3);
  });

  it('picks from each item of a list envelope and keeps the envelope keys', () => {
    const list = { page: 1, perPage: 30, totalItems: 2, totalPages: 1, items: [record(), { ...record(), id: 'r2' }] };
    assert.deepEqual(pickFields(list, 'id'), { page: 1, perPage: 30, totalItems: 2, totalPages: 1, items: [{ id: 'r1' }, { id: 'r2' }] });
  });

  it('an object that merely has an items key is picked like any object', () => {
    assert.deepEqual(pickFields({ items: [{ id: 1 }], other: 1 }, 'other'), { other: 1 });
  });

  it('picks from each object of a top-level array and ignores non-object elements', () => {
    assert.deepEqual(pickFields([{ a: 1, b: 2 }, 5, null, { a: 3 }], 'a'), [{ a: 1 }, 5, null, { a: 3 }]);
  });

  it('leaves scalars alone and returns the input when no field is given', () => {
    assert.equal(pickFields('text', 'a'), 'text');
    assert.equal(pickFields(null, 'a'), null);
    assert.equal(pickFields(undefined, 'a'), undefined);
    const v = record();
    assert.equal(pickFields(v, ' , '), v);
  });

  it('never mutates its input and honours toJSON()', () => {
    const v = { ...record(), created: new Date('2024-01-02T03:04:05.000Z') };
    const before = JSON.stringify(v);
    assert.deepEqual(pickFields(v, 'created'), { created: '2024-01-02T03:04:05.000Z' });
    assert.equal(JSON.stringify(v), before);
  });

  it('handles an own __proto__ key from JSON without touching any prototype', () => {
    const v = JSON.parse('{"__proto__": {"polluted": "<b>x</b>"}, "a": 1}') as unknown;
    const out = pickFields(v, '__proto__') as Record<string, unknown>;
    assert.deepEqual(Object.keys(out), ['__proto__']);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it('returns the value unchanged when it cannot be JSON-normalised', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    assert.equal(pickFields(cyclic, 'a'), cyclic);
  });

  it('rejects invalid modifiers and expressions with a 400', () => {
    assertBadFields('title:upper', /modifier "upper"/);
    assertBadFields('title:excerpt', /max argument is required/);
    assertBadFields('title:excerpt()', /max argument is required/);
    assertBadFields('title:excerpt(0)', /> 0/);
    assertBadFields('title:excerpt(-5)', /> 0/);
    assertBadFields('title:excerpt(abc)', /> 0/);
    assertBadFields('title:excerpt(1,true,3)', /too many arguments/);
    assertBadFields('title:excerpt(10', /Unbalanced/);
    assertBadFields('title:"x', /Unbalanced/);
    assertBadFields('title:toString', /modifier "toString"/);
    assertBadFields('a'.repeat(5000), /too long/);
  });

  it('parseFields keeps paths in order with the last duplicate winning', () => {
    const parsed = parseFields('a,b:excerpt(3),a.b,b');
    assert.deepEqual([...parsed.keys()], ['a', 'b', 'a.b']);
    assert.equal(parsed.get('b'), null);
  });
});

describe('pickFields properties', () => {
  const fieldChars = fc.constantFrom(...'abc.*,: ()\'"`\\0123-'.split(''), 'excerpt(', 'excerpt(3,true)', 'a.b', 'expand.');
  const fieldsArb = fc.oneof(
    fc.string(),
    fc.array(fieldChars, { maxLength: 20 }).map((a) => a.join('')),
  );

  it('never throws anything but AppError on random inputs', () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), fc.anything()), fieldsArb, (value, fields) => {
        try {
          pickFields(value, fields);
        } catch (err) {
          assert.ok(err instanceof AppError, `unexpected ${String(err)}`);
          assert.equal(err.status, 400);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('* is the identity on JSON objects', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (obj) => {
        assert.deepEqual(pickFields(obj, '*'), JSON.parse(JSON.stringify(obj)));
      }),
    );
  });

  it('the result only has keys that were asked for', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom('a', 'b', 'c', 'd'), fc.jsonValue()), fc.subarray(['a', 'b', 'c']), (obj, keys) => {
        const out = pickFields(obj, keys.join(',')) as Record<string, unknown>;
        if (keys.length === 0) return;
        for (const k of Object.keys(out)) assert.ok(keys.includes(k));
      }),
    );
  });
});

describe('fieldsPickerHook', () => {
  let app: FastifyInstance;
  let base: string;

  before(async () => {
    app = Fastify();
    app.addHook('preSerialization', fieldsPickerHook());
    app.setErrorHandler((err, _req, reply) => {
      const e = fromUnknown(err);
      void reply.code(e.status).send(e.toEnvelope());
    });
    app.get('/rec', async () => record());
    app.get('/list', async () => ({ page: 1, perPage: 1, totalItems: 1, totalPages: 1, items: [record()] }));
    app.get('/fail', async (_req, reply) => reply.code(404).send({ data: {}, message: 'Missing.', status: 404 }));
    app.get('/text', async (_req, reply) => reply.type('text/plain').send('plain'));
    await app.listen({ port: 0, host: '127.0.0.1' });
    const addr = app.server.address();
    base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  });
  after(() => app.close());

  const get = async (path: string): Promise<{ status: number; body: unknown }> => {
    const r = await fetch(base + path);
    const text = await r.text();
    return { status: r.status, body: r.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text };
  };

  it('picks on 2xx JSON responses', async () => {
    assert.deepEqual(await get('/rec?fields=id,expand.author.name'), { status: 200, body: { id: 'r1', expand: { author: { name: 'Ann' } } } });
  });

  it('uses the first value of a repeated fields param', async () => {
    assert.deepEqual((await get('/rec?fields=id&fields=title')).body, { id: 'r1' });
  });

  it('keeps the list envelope', async () => {
    assert.deepEqual((await get('/list?fields=title')).body, { page: 1, perPage: 1, totalItems: 1, totalPages: 1, items: [{ title: 'Hello' }] });
  });

  it('leaves the payload alone without fields, with an empty fields, and on non-2xx', async () => {
    assert.deepEqual((await get('/rec')).body, record());
    assert.deepEqual((await get('/rec?fields=')).body, record());
    assert.deepEqual(await get('/fail?fields=status'), { status: 404, body: { data: {}, message: 'Missing.', status: 404 } });
    assert.deepEqual(await get('/text?fields=id'), { status: 200, body: 'plain' });
  });

  it('answers an invalid modifier with a 400 envelope', async () => {
    const r = await get(`/rec?fields=${encodeURIComponent('title:nope(1)')}`);
    assert.equal(r.status, 400);
    assert.match((r.body as { message: string }).message, /Missing or invalid "fields" modifier "nope"/);
  });
});
