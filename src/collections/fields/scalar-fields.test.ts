import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidValue } from './field-type.js';
import { autogenerateText, generateTextValue, getFieldType } from './index.js';
import { makeTestField, NEW, rejectCode, updating } from './test-support.js';

const text = getFieldType('text');
const number = getFieldType('number');
const bool = getFieldType('bool');
const email = getFieldType('email');
const url = getFieldType('url');
const editor = getFieldType('editor');
const password = getFieldType('password');

describe('text', () => {
  const f = makeTestField('text', { name: 'title' });

  it('accepts strings and form-inferred scalars, empty for null/undefined', () => {
    assert.equal(text.prepareValue('hello', f), 'hello');
    assert.equal(text.prepareValue(undefined, f), '');
    assert.equal(text.prepareValue(null, f), '');
    assert.equal(text.prepareValue(123, f), '123');
    assert.equal(text.prepareValue(1.5, f), '1.5');
    assert.equal(text.prepareValue(true, f), 'true');
  });

  it('rejects type confusion instead of coercing to ""', () => {
    for (const raw of [{ $gt: '' }, ['a'], [], {}, Number.NaN, Infinity, () => 1, Symbol('x'), 10n]) {
      assert.equal(rejectCode(text.prepareValue(raw, f)), 'validation_unsupported_value_type', String(typeof raw));
    }
  });

  it('validates required, rune lengths and the default max of 5000', () => {
    const req = makeTestField('text', { required: true, min: 3, max: 5 });
    assert.equal(text.validateValue('', req, NEW)?.code, 'validation_required');
    assert.deepEqual(text.validateValue('ab', req, NEW), {
      code: 'validation_min_text_constraint',
      message: 'Must be at least 3 character(s).',
      params: { min: 3 },
    });
    assert.equal(text.validateValue('abcdef', req, NEW)?.code, 'validation_max_text_constraint');
    assert.equal(text.validateValue('日本語の', req, NEW), null, 'counts code points, not bytes');
    assert.equal(text.validateValue('😀😀😀', req, NEW), null, 'astral characters count once');
    assert.equal(text.validateValue('', f, NEW), null);
    assert.equal(text.validateValue('x'.repeat(5000), f, NEW), null);
    assert.deepEqual(text.validateValue('x'.repeat(5001), f, NEW)?.params, { max: 5000 });
    assert.equal(text.validateValue(5, f, NEW)?.code, 'validation_unsupported_value_type');
  });

  it('checks the pattern with the linear matcher', () => {
    const p = makeTestField('text', { pattern: '^[a-z]+-\\d{2}$' });
    assert.equal(text.validateValue('abc-12', p, NEW), null);
    assert.equal(text.validateValue('abc-1', p, NEW)?.code, 'validation_invalid_format');
    const evil = makeTestField('text', { pattern: '^(a+)+$', max: 100000 });
    const started = Date.now();
    assert.equal(text.validateValue('a'.repeat(5000) + '!', evil, NEW)?.code, 'validation_invalid_format');
    assert.ok(Date.now() - started < 1000, 'nested quantifiers must not backtrack exponentially');
  });

  it('guards the primary key: forbidden characters, no change on update, existing ids kept', () => {
    const id = makeTestField('text', { name: 'id', primaryKey: true, required: true, pattern: '^[a-z0-9]+$', min: 15, max: 15 });
    assert.equal(text.validateValue('abcdefghijklmno', id, NEW), null);
    assert.equal(text.validateValue('abc/defghijklmn', id, NEW)?.code, 'validation_pk_forbidden');
    assert.equal(text.validateValue('..', makeTestField('text', { name: 'id', primaryKey: true }), NEW)?.code, 'validation_pk_forbidden');
    assert.equal(text.validateValue('CON', makeTestField('text', { name: 'id', primaryKey: true }), NEW)?.code, 'validation_pk_forbidden');
    assert.equal(text.validateValue('', id, NEW)?.code, 'validation_required');
    assert.equal(text.validateValue('bbbbbbbbbbbbbbb', id, updating('aaaaaaaaaaaaaaa'))?.code, 'validation_pk_change');
    assert.equal(text.validateValue('OLD_STYLE', id, updating('OLD_STYLE')), null, 'stored ids are not re-validated');
  });

  it('maps columns and db values', () => {
    assert.equal(text.columnKind(f), 'text');
    assert.equal(text.columnKind(makeTestField('text', { name: 'id', primaryKey: true })), 'primaryKey');
    assert.equal(text.zeroValue(f), '');
    assert.equal(text.toDb('x', f), 'x');
    assert.equal(text.fromDb(null, f), '');
    assert.equal(text.fromDb(12, f), '12');
  });

  it('autogenerates values from the pattern', () => {
    const g = makeTestField('text', { autogeneratePattern: '[a-z0-9]{15}' });
    assert.match(generateTextValue(g) ?? '', /^[a-z0-9]{15}$/);
    assert.match(autogenerateText(g, 'post-') as string, /^post-[a-z0-9]{15}$/);
    assert.equal(generateTextValue(f), null);
    assert.ok(autogenerateText(g, { x: 1 }) instanceof InvalidValue);
  });
});

describe('number', () => {
  const f = makeTestField('number', { name: 'n' });

  it('accepts numbers and strictly numeric strings; "" and null are 0', () => {
    assert.equal(number.prepareValue(5, f), 5);
    assert.equal(number.prepareValue(-1.25, f), -1.25);
    assert.equal(number.prepareValue('42', f), 42);
    assert.equal(number.prepareValue('-0.5', f), -0.5);
    assert.equal(number.prepareValue('1e3', f), 1000);
    assert.equal(number.prepareValue('.5', f), 0.5);
    assert.equal(number.prepareValue('', f), 0);
    assert.equal(number.prepareValue(null, f), 0);
    assert.equal(number.prepareValue(undefined, f), 0);
  });

  it('rejects non-numeric input', () => {
    for (const raw of ['abc', '12abc', ' 5', '0x10', 'Infinity', 'NaN', '1e999', '--1', true, false, { $gt: 1 }, [1], Number.NaN, Infinity]) {
      assert.equal(rejectCode(number.prepareValue(raw, f)), 'validation_not_a_number', JSON.stringify(raw) ?? String(raw));
    }
  });

  it('validates required, onlyInt, min and max like PocketBase', () => {
    const n = makeTestField('number', { required: true, onlyInt: true, min: 1, max: 10 });
    assert.equal(number.validateValue(0, n, NEW)?.code, 'validation_required');
    assert.equal(number.validateValue(1.5, n, NEW)?.code, 'validation_only_int_constraint');
    assert.deepEqual(number.validateValue(-3, n, NEW), {
      code: 'validation_min_number_constraint',
      message: 'Must be larger than 1.000000.',
      params: { min: 1 },
    });
    assert.equal(number.validateValue(11, n, NEW)?.code, 'validation_max_number_constraint');
    assert.equal(number.validateValue(5, n, NEW), null);
    assert.equal(number.validateValue(0, f, NEW), null, 'zero skips min/max when not required');
    assert.equal(number.validateValue('5', f, NEW)?.code, 'validation_not_a_number');
  });

  it('supports + and - modifiers', () => {
    assert.equal(number.applyModifier?.(10, 'append', 5, f), 15);
    assert.equal(number.applyModifier?.(10, 'subtract', '3', f), 7);
    assert.equal(number.applyModifier?.(undefined, 'append', 2, f), 2);
    assert.equal(rejectCode(number.applyModifier?.(10, 'append', 'x', f)), 'validation_not_a_number');
    assert.equal(rejectCode(number.applyModifier?.(10, 'prepend', 1, f)), 'validation_unsupported_modifier');
    assert.equal(rejectCode(number.applyModifier?.(Number.MAX_VALUE, 'append', Number.MAX_VALUE, f)), 'validation_not_a_number');
  });

  it('maps db values', () => {
    assert.equal(number.columnKind(f), 'number');
    assert.equal(number.zeroValue(f), 0);
    assert.equal(number.fromDb(null, f), 0);
    assert.equal(number.fromDb('7', f), 7);
    assert.equal(number.fromDb(3n, f), 3);
    assert.equal(number.toDb(2.5, f), 2.5);
  });
});

describe('bool', () => {
  const f = makeTestField('bool');

  it('accepts booleans, form spellings and 1/0; ""/null are false', () => {
    for (const raw of [true, 'true', 'TRUE', 't', '1', 1, 'on']) assert.equal(bool.prepareValue(raw, f), true, String(raw));
    for (const raw of [false, 'false', 'f', '0', 0, 'off', '', null, undefined]) assert.equal(bool.prepareValue(raw, f), false, String(raw));
  });

  it('rejects anything else', () => {
    for (const raw of ['yes', 'no', 2, -1, 0.5, {}, [], [true], { $ne: false }]) {
      assert.equal(rejectCode(bool.prepareValue(raw, f)), 'validation_unsupported_value_type', JSON.stringify(raw));
    }
  });

  it('required means true', () => {
    const r = makeTestField('bool', { required: true });
    assert.equal(bool.validateValue(false, r, NEW)?.code, 'validation_required');
    assert.equal(bool.validateValue(true, r, NEW), null);
    assert.equal(bool.fromDb(1, f), true);
    assert.equal(bool.fromDb(0, f), false);
    assert.equal(bool.toDb(true, f), true);
  });
});

describe('email', () => {
  const f = makeTestField('email');

  it('validates the format and domains', () => {
    assert.equal(email.validateValue('a@example.com', f, NEW), null);
    assert.equal(email.validateValue('', f, NEW), null);
    assert.deepEqual(email.validateValue('not-an-email', f, NEW), { code: 'validation_is_email', message: 'Must be a valid email address.' });
    assert.equal(email.validateValue(`${'a'.repeat(250)}@example.com`, f, NEW)?.code, 'validation_is_email');
    const only = makeTestField('email', { onlyDomains: ['example.com'] });
    assert.equal(email.validateValue('a@other.com', only, NEW)?.code, 'validation_email_domain_not_allowed');
    assert.equal(email.validateValue('a@Example.com', only, NEW), null);
    const except = makeTestField('email', { exceptDomains: ['spam.com'] });
    assert.equal(email.validateValue('a@spam.com', except, NEW)?.code, 'validation_email_domain_not_allowed');
    assert.equal(email.validateValue('', makeTestField('email', { required: true }), NEW)?.code, 'validation_required');
  });

  it('rejects type confusion', () => {
    assert.equal(rejectCode(email.prepareValue({ $regex: '.*' }, f)), 'validation_unsupported_value_type');
    assert.equal(rejectCode(email.prepareValue(['a@b.co'], f)), 'validation_unsupported_value_type');
  });

  it('is linear on hostile input', () => {
    const started = Date.now();
    email.validateValue('a@' + 'a-'.repeat(120) + '!', f, NEW);
    assert.ok(Date.now() - started < 200);
  });
});

describe('url', () => {
  const f = makeTestField('url');

  it('validates URLs and hosts', () => {
    assert.equal(url.validateValue('https://example.com/a?b=c', f, NEW), null);
    assert.equal(url.validateValue('example.com', f, NEW), null, 'scheme-less URLs are accepted like PocketBase');
    assert.equal(url.validateValue('http://localhost:8090', f, NEW), null);
    for (const bad of ['not a url', 'javascript:alert(1)', 'http://', 'http://exa mple.com', 'http://-bad-.com', 'gopher://example.com']) {
      assert.equal(url.validateValue(bad, f, NEW)?.code, 'validation_invalid_url', bad);
    }
    const only = makeTestField('url', { onlyDomains: ['example.com'] });
    assert.equal(url.validateValue('https://example.com/x', only, NEW), null);
    assert.equal(url.validateValue('https://evil.com/x', only, NEW)?.code, 'validation_url_domain_not_allowed');
  });
});

describe('editor', () => {
  it('limits the size in bytes (default 5 MiB)', () => {
    const f = makeTestField('editor', { maxSize: 10 });
    assert.equal(editor.validateValue('<p>hi</p>', f, NEW), null);
    assert.deepEqual(editor.validateValue('<p>hello!</p>', f, NEW)?.params, { maxSize: 10 });
    assert.equal(editor.validateValue('x'.repeat(5 << 20), makeTestField('editor'), NEW), null);
    assert.equal(editor.validateValue('x'.repeat((5 << 20) + 1), makeTestField('editor'), NEW)?.code, 'validation_content_size_limit');
    assert.equal(rejectCode(editor.prepareValue({ html: 1 }, f)), 'validation_unsupported_value_type');
  });
});

describe('password', () => {
  const f = makeTestField('password', { name: 'password', required: true, min: 8 });

  it('validates the plain password: required, min, max 71, pattern', () => {
    assert.equal(password.validateValue('', f, NEW)?.code, 'validation_required');
    assert.equal(password.validateValue('short', f, NEW)?.code, 'validation_min_text_constraint');
    assert.equal(password.validateValue('x'.repeat(71), f, NEW), null);
    assert.deepEqual(password.validateValue('x'.repeat(72), f, NEW)?.params, { max: 71 });
    const p = makeTestField('password', { pattern: '\\d' });
    assert.equal(password.validateValue('abcdefgh', p, NEW)?.code, 'validation_invalid_format');
    assert.equal(password.validateValue('abcdefg1', p, NEW), null);
  });

  it('does not re-validate an unchanged stored hash', () => {
    const hash = '$argon2id$v=19$m=65536,t=3,p=4$' + 'x'.repeat(80);
    assert.equal(password.validateValue(hash, f, updating(hash)), null);
    assert.equal(password.fromDb(hash, f), hash);
    assert.equal(password.fromDb(null, f), '');
  });

  it('accepts numeric passwords from form data and rejects objects', () => {
    assert.equal(password.prepareValue(12345678, f), '12345678');
    assert.equal(rejectCode(password.prepareValue({ $ne: '' }, f)), 'validation_unsupported_value_type');
  });
});
