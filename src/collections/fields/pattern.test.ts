import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { generateFromPattern } from './pattern-generate.js';
import { compilePattern, MAX_PROGRAM_SIZE, patternError, runPattern, testPattern } from './pattern-match.js';
import { parsePattern, PatternSyntaxError } from './pattern-parse.js';

describe('pattern syntax (RE2 subset)', () => {
  it('accepts the syntax PocketBase users write', () => {
    for (const p of [
      '^[a-z0-9]+$',
      '^\\w+@\\w+\\.com$',
      '^(?i)abc$',
      '(?i:ab)c',
      '^\\d{3}-\\d{4}$',
      '^[[:alpha:]]+$',
      '^\\p{L}+$',
      '^\\p{Greek}+$',
      '\\x41\\x{263a}\\101',
      '\\Qa.b\\E',
      '(?P<year>\\d{4})',
      '(?<year>\\d{4})',
      'a{2,}b{,3}',
      'a+?b*?c??',
      '[]a]',
      '[a-]',
      '\\bword\\B',
      '\\Astart\\z',
    ]) {
      assert.equal(patternError(p), null, p);
    }
  });

  it('rejects what RE2 rejects, and oversized patterns', () => {
    for (const p of [
      '(',
      ')',
      '[a',
      'a**',
      '*a',
      '(?=a)',
      '(?!a)',
      '(?<=a)',
      '\\1',
      'a{1001}',
      'a{99999999999}',
      'a{5,2}',
      '\\y',
      '[z-a]',
      '\\p{NotAProperty}',
      'a'.repeat(1001),
      '(x{1000}){1000}',
      '[[:nope:]]',
      '[\\',
      'a\\',
    ]) {
      assert.notEqual(patternError(p), null, p);
    }
    assert.throws(() => parsePattern('('), PatternSyntaxError);
    assert.throws(() => compilePattern('(a{1000}){20}'), /too large/);
    assert.ok(MAX_PROGRAM_SIZE >= 1000);
  });

  it('matches with RE2 semantics', () => {
    assert.equal(testPattern('^[a-z0-9]+$', 'abc123'), true);
    assert.equal(testPattern('^[a-z0-9]+$', 'abc-123'), false);
    assert.equal(testPattern('b', 'abc'), true, 'unanchored search');
    assert.equal(testPattern('^abc$', 'abc\n'), false, '$ is end of text without (?m)');
    assert.equal(testPattern('(?m)^b$', 'a\nb\nc'), true);
    assert.equal(testPattern('a.c', 'a\nc'), false);
    assert.equal(testPattern('(?s)a.c', 'a\nc'), true);
    assert.equal(testPattern('(?i)^abc$', 'AbC'), true);
    assert.equal(testPattern('^[^a]$', 'A'), true);
    assert.equal(testPattern('(?i)^[^a]$', 'A'), false);
    assert.equal(testPattern('\\bfoo\\b', 'a foo b'), true);
    assert.equal(testPattern('\\bfoo\\b', 'afoob'), false);
    assert.equal(testPattern('^\\p{L}+$', 'héllo'), true);
    assert.equal(testPattern('^.$', '😀'), true, 'code points, not UTF-16 units');
    assert.equal(testPattern('^a{2,3}$', 'aaaa'), false);
    assert.equal(testPattern('^(ab|cd)*$', 'abcdab'), true);
    assert.equal(testPattern('^(a*)*$', 'aaaa'), true);
    assert.equal(testPattern('(', 'x'), false, 'invalid patterns never match');
  });

  it('stays linear on classic ReDoS patterns', () => {
    const input = 'a'.repeat(20_000) + '!';
    for (const p of ['^(a+)+$', '^(a|a)*$', '^(a|aa)+$', '^(.*a){12}$', '(a*)*b', '^(\\w+\\s?)*$']) {
      const started = Date.now();
      assert.equal(testPattern(p, input), false, p);
      assert.ok(Date.now() - started < 2000, `${p} took ${Date.now() - started}ms`);
    }
  });

  it('refuses (rather than runs) work past the bound', () => {
    const compiled = compilePattern('^(?:a{1000}){9}$');
    assert.equal(runPattern(compiled, 'a'.repeat(100_000)), null);
    assert.equal(testPattern('^(?:a{1000}){9}$', 'a'.repeat(100_000)), false);
  });

  it('agrees with JavaScript RegExp on a safe random subset', () => {
    const atom = fc.oneof(fc.constantFrom('a', 'b', 'c', '.', '[ab]', '[^a]', '\\d', '\\w', '(?:ab)', '(a|bc)', '[a-c]'), fc.constantFrom('x', '1'));
    const quantified = fc.tuple(atom, fc.constantFrom('', '', '*', '+', '?', '{1,2}', '{2}')).map(([a, q]) => a + q);
    const pattern = fc
      .tuple(fc.constantFrom('', '^'), fc.array(quantified, { minLength: 1, maxLength: 5 }), fc.constantFrom('', '$'))
      .map(([s, parts, e]) => s + parts.join('') + e);
    const input = fc.string({ unit: fc.constantFrom('a', 'b', 'c', '1', 'x', ' ', '\n'), maxLength: 12 });
    fc.assert(
      fc.property(pattern, input, (p, s) => {
        assert.equal(testPattern(p, s), new RegExp(p).test(s), `${p} on ${JSON.stringify(s)}`);
      }),
      { numRuns: 500 },
    );
  });

  it('never throws anything but PatternSyntaxError while parsing arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (p) => {
        try {
          compilePattern(p);
        } catch (err) {
          assert.ok(err instanceof PatternSyntaxError, String(err));
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe('pattern generation', () => {
  it('generates record ids and token keys', () => {
    for (let i = 0; i < 50; i++) {
      assert.match(generateFromPattern('[a-z0-9]{15}'), /^[a-z0-9]{15}$/);
      assert.match(generateFromPattern('[a-zA-Z0-9]{50}'), /^[a-zA-Z0-9]{50}$/);
    }
    assert.match(generateFromPattern('^post-\\d{4}$'), /^post-\d{4}$/);
    assert.match(generateFromPattern('(red|green|blue)'), /^(red|green|blue)$/);
  });

  it('produces values that match their own pattern', () => {
    const atom = fc.constantFrom('a', '[a-f]', '[^a-y]', '\\d', '\\w', '(ab|c)', '.', 'x');
    const quantified = fc.tuple(atom, fc.constantFrom('', '*', '+', '?', '{2}', '{1,3}')).map(([a, q]) => a + q);
    const pattern = fc.array(quantified, { minLength: 1, maxLength: 6 }).map((parts) => `^${parts.join('')}$`);
    fc.assert(
      fc.property(pattern, (p) => {
        assert.equal(testPattern(p, generateFromPattern(p)), true, p);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses classes it cannot draw from and oversized output', () => {
    assert.throws(() => generateFromPattern('[^\\x00-\\x{10FFFF}]'), PatternSyntaxError);
    assert.throws(() => generateFromPattern('(?:a{1000}){20}'), PatternSyntaxError);
  });
});
