import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Collection, Field, SchemaLookup } from '../collections/model.js';
import { posts, schema } from './fixtures.test-util.js';
import { validateRule, validateRuleSyntax } from './validate.js';

describe('validateRule (schema editor)', () => {
  it('accepts locked, public and well-formed rules, hidden fields included', () => {
    assert.equal(validateRule(null, posts, schema), null);
    assert.equal(validateRule('', posts, schema), null);
    assert.equal(validateRule('  ', posts, schema), null);
    assert.equal(validateRule(`author = @request.auth.id && note != '' && @collection.members.user ?= author`, posts, schema), null);
    assert.equal(validateRule(`@request.auth.anything.at.all = 1`, posts, schema), null); // auth paths are request-time
    assert.equal(validateRule(`@request.body.tags.name ?= 'x' && @request.body.title:changed = false`, posts, schema), null);
  });

  it('reports syntax and schema errors as validation_invalid_rule', () => {
    const syntax = validateRule(`title = `, posts, schema);
    assert.equal(syntax?.code, 'validation_invalid_rule');
    assert.match(syntax?.message ?? '', /^Invalid filter: expected an operand/);
    assert.match(validateRule(`nope = 1`, posts, schema)?.message ?? '', /unknown or non-filterable field "nope"/);
    assert.match(validateRule(`author.nope = 1`, posts, schema)?.message ?? '', /unknown or non-filterable field/);
    assert.match(validateRule(`title:each = 1`, posts, schema)?.message ?? '', /needs a select, relation or file field/);
    assert.match(validateRule(`@collection.nope.id = 1`, posts, schema)?.message ?? '', /unknown or non-filterable/);
  });

  it('checks against the candidate schema it is given', () => {
    const candidate: Collection = {
      ...posts,
      fields: [...posts.fields, { id: 'x', name: 'subtitle', type: 'text', system: false, hidden: false, presentable: false } as Field],
    };
    const lookup: SchemaLookup = { find: (n) => (n === posts.id || n === posts.name ? candidate : schema.find(n)), all: () => schema.all() };
    assert.notEqual(validateRule(`subtitle = 'x'`, posts, schema), null);
    assert.equal(validateRule(`subtitle = 'x'`, candidate, lookup), null);
    assert.equal(validateRuleSyntax(`subtitle = 'x'`, { collection: candidate, schema: lookup }), null);
    assert.equal(validateRuleSyntax(`subtitle = `, { collection: candidate, schema: lookup })?.status, 400);
  });
});
