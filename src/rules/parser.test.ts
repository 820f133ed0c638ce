import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AppError } from '../errors/index.js';
import type { CompareNode, ExprNode } from './ast.js';
import { MAX_DEPTH, MAX_EXPRESSIONS } from './limits.js';
import { parseFilter } from './parser.js';

function cmp(src: string): CompareNode {
  const node = parseFilter(src);
  assert.equal(node.kind, 'compare');
  return node as CompareNode;
}

/** Asserts an invalid_filter AppError whose message matches `re`. */
function rejects(src: string, re: RegExp): AppError {
  try {
    parseFilter(src);
  } catch (err) {
    assert.ok(err instanceof AppError, `expected AppError, got ${String(err)}`);
    assert.equal(err.code, 'invalid_filter');
    assert.equal(err.status, 400);
    assert.match(err.message, re);
    return err;
  }
  assert.fail(`expected ${JSON.stringify(src)} to be rejected`);
}

/** A compact rendering of the AST for structural assertions. */
function show(n: ExprNode): string {
  if (n.kind === 'and' || n.kind === 'or') return `${n.kind}(${n.items.map(show).join(', ')})`;
  const op = (o: CompareNode['left']): string => {
    switch (o.kind) {
      case 'identifier':
        return o.name;
      case 'text':
        return JSON.stringify(o.value);
      case 'number':
        return String(o.value);
      case 'bool':
        return String(o.value);
      case 'null':
        return 'NULL';
      case 'call':
        return `${o.name}(${o.args.map(op).join(',')})`;
    }
  };
  return `${op(n.left)} ${n.any ? '?' : ''}${n.op} ${op(n.right)}`;
}

describe('parser: operators', () => {
  for (const op of ['=', '!=', '>', '>=', '<', '<=', '~', '!~'] as const) {
    it(`parses ${op} and ?${op}`, () => {
      const plain = cmp(`a ${op} 1`);
      assert.equal(plain.op, op);
      assert.equal(plain.any, false);
      const any = cmp(`a ?${op} 1`);
      assert.equal(any.op, op);
      assert.equal(any.any, true);
      assert.equal(show(parseFilter(`a${op}1`)), `a ${op} 1`); // no spaces needed
    });
  }

  it('rejects unknown operator runs', () => {
    rejects('a == 1', /invalid operator "=="/);
    rejects('a =! 1', /invalid operator "=!"/);
    rejects('a ?? 1', /invalid operator/);
    rejects('a & b', /invalid join operator "&"/);
    rejects('a = 1 ||| b = 2', /invalid join operator/);
  });

  it('gives && precedence over || and keeps left-to-right order', () => {
    assert.equal(show(parseFilter('a=1 || b=2 && c=3')), 'or(a = 1, and(b = 2, c = 3))');
    assert.equal(show(parseFilter('a=1 && b=2 || c=3')), 'or(and(a = 1, b = 2), c = 3)');
    assert.equal(show(parseFilter('(a=1 || b=2) && c=3')), 'and(or(a = 1, b = 2), c = 3)');
    assert.equal(show(parseFilter('a=1 && b=2 && c=3')), 'and(a = 1, b = 2, c = 3)');
    assert.equal(show(parseFilter('((a = 1))')), 'a = 1');
  });
});

describe('parser: operands', () => {
  it('reads identifiers with paths, modifiers, @request, @collection aliases, # and _', () => {
    assert.equal(show(parseFilter('author.team.name = @request.auth.id')), 'author.team.name = @request.auth.id');
    assert.equal(show(parseFilter('tags:each ?= @collection.posts:p.title')), 'tags:each ?= @collection.posts:p.title');
    assert.equal(show(parseFilter('_x = #y')), '_x = #y');
    rejects('a. = 1', /invalid identifier "a\."/);
    rejects('a: = 1', /invalid identifier "a:"/);
    rejects('a@b = 1', /invalid identifier "a@b"/);
    rejects('@@a = 1', /invalid identifier "@@a"/);
  });

  it('reads true/false/null case-insensitively as literals', () => {
    assert.equal(show(parseFilter('a = TRUE && b = False && c = nUlL')), 'and(a = true, b = false, c = NULL)');
    assert.equal(cmp('true = a').left.kind, 'bool');
    assert.equal(cmp('a = null').right.kind, 'null');
    assert.equal(cmp('a = nulls').right.kind, 'identifier');
  });

  it('reads numbers: negative, decimal, leading zeros; rejects .5, 5., 1.2.3 and a lone -', () => {
    assert.deepEqual(cmp('a = -14').right, { kind: 'number', value: -14, raw: '-14', pos: 4 });
    assert.equal((cmp('a = 10.50').right as { value: number }).value, 10.5);
    assert.equal((cmp('a = 007').right as { value: number }).value, 7);
    rejects('a = 5.', /invalid number "5\."/);
    rejects('a = 1.2.3', /invalid number "1\.2\.3"/);
    rejects('a = -', /invalid number "-"/);
    rejects('a = .5', /unexpected character "\."/);
    rejects('a = 1e3', /expected "&&", "\|\|" or end of input/);
  });

  it('reads quoted text with only the matching escaped quote unescaped', () => {
    assert.equal(show(parseFilter(`a = 'it\\'s'`)), `a = "it's"`);
    assert.equal(show(parseFilter(`a = "say \\"hi\\""`)), `a = "say \\"hi\\""`);
    assert.deepEqual((cmp(`a = "it\\'s"`).right as { value: string }).value, "it\\'s"); // other quote kept escaped
    assert.deepEqual((cmp(`a = 'back\\slash \\n'`).right as { value: string }).value, 'back\\slash \\n');
    assert.deepEqual((cmp(`a = "mixed 'quotes' ok"`).right as { value: string }).value, "mixed 'quotes' ok");
    assert.deepEqual((cmp(`a = ''`).right as { value: string }).value, '');
    assert.deepEqual((cmp(`a = '// not a comment && b = 1'`).right as { value: string }).value, '// not a comment && b = 1');
    assert.deepEqual((cmp(`a = '‘unicode’ “quotes” ☃ 𝄞'`).right as { value: string }).value, '‘unicode’ “quotes” ☃ 𝄞');
    rejects(`a = 'open`, /unterminated quoted text \(at position 4\)/);
    rejects(`a = 'ends with backslash\\'`, /unterminated quoted text/);
  });

  it('allows text and numbers on the left', () => {
    assert.equal(show(parseFilter(`'a' = 1`)), '"a" = 1');
    assert.equal(show(parseFilter(`1 < 2`)), '1 < 2');
  });
});

describe('parser: whitespace and comments', () => {
  it('accepts spaces, tabs, newlines and CRLF', () => {
    assert.equal(show(parseFilter('a\t=\n1\r\n&&\r\n\tb = 2')), 'and(a = 1, b = 2)');
  });

  it('skips // comments to the end of the line', () => {
    assert.equal(show(parseFilter('a = 1 // first\n&& b = 2 // last')), 'and(a = 1, b = 2)');
    assert.equal(show(parseFilter('// leading\n(a = 1 // inside a group\n)')), 'a = 1');
    rejects('// only a comment', /empty expression/);
    rejects('a = 1 / 2', /unexpected character "\/"/);
  });
});

describe('parser: function calls', () => {
  it('parses calls with identifier, text, number and nested call arguments', () => {
    assert.equal(show(parseFilter(`geoDistance(a.lon, a.lat, 1.5, -2) < 10`)), 'geoDistance(a.lon,a.lat,1.5,-2) < 10');
    assert.equal(show(parseFilter(`strftime('%Y', created,) = '2024'`)), 'strftime("%Y",created) = "2024"'); // trailing comma
    assert.equal(show(parseFilter(`f(g(x)) = 1`)), 'f(g(x)) = 1');
    assert.equal(show(parseFilter(`f() = 1`)), 'f() = 1');
  });

  it('limits call nesting to 2 and rejects malformed argument lists', () => {
    rejects(`f(g(h(x))) = 1`, /function calls nested too deeply/);
    rejects(`f(a b) = 1`, /expected "," or "\)"/);
    rejects(`f(,) = 1`, /expected an operand/);
    rejects(`f(a = 1`, /missing 1 closing parenthesis/);
    rejects(`f (a) = 1`, /expected an operator/); // a call needs the bracket right after the name
  });
});

describe('parser: errors carry positions', () => {
  it('reports where the problem is', () => {
    rejects('title = $x', /unexpected character "\$" \(at position 8\)/);
    rejects('a = 1 b = 2', /expected "&&", "\|\|" or end of input, got "b" \(at position 6\)/);
    rejects('a = 1 &&', /expected an operand .* got end of input \(at position 8\)/);
    rejects('a 1', /expected an operator .* got "1" \(at position 2\)/);
    rejects('a = 1)', /unexpected "\)" \(at position 5\)/);
    rejects('(a = 1', /missing 1 closing parenthesis/);
    rejects('()', /empty parentheses \(at position 0\)/);
    rejects('', /empty expression/);
    rejects("a = 'x\u0000y'", /unexpected NUL character \(at position 6\)/);
    rejects('   ', /empty expression/);
  });
});

describe('parser: limits', () => {
  it(`accepts ${MAX_EXPRESSIONS} expressions and rejects one more`, () => {
    const many = (n: number) => Array.from({ length: n }, (_, i) => `a = ${i}`).join(' || ');
    assert.equal(parseFilter(many(MAX_EXPRESSIONS)).kind, 'or');
    rejects(many(MAX_EXPRESSIONS + 1), /too many expressions \(max 200\)/);
  });

  it(`accepts nesting depth ${MAX_DEPTH} and rejects ${MAX_DEPTH + 1}`, () => {
    const nest = (n: number) => '('.repeat(n) + 'a = 1' + ')'.repeat(n);
    assert.equal(parseFilter(nest(MAX_DEPTH)).kind, 'compare');
    rejects(nest(MAX_DEPTH + 1), /nested too deeply \(max 32 levels\) \(at position 32\)/);
  });

  it('answers 10,000 nested parentheses with a 400 in milliseconds (no stack overflow)', () => {
    for (const src of ['('.repeat(10_000) + 'a = 1' + ')'.repeat(10_000), '('.repeat(10_000), 'f('.repeat(10_000)]) {
      const start = performance.now();
      rejects(src, /nested too deeply/);
      assert.ok(performance.now() - start < 50, 'took too long');
    }
  });

  it('rejects very long input quickly and caches parsed ASTs', () => {
    rejects('a = 1 || '.repeat(20_000) + 'a = 1', /expression too long/);
    const a = parseFilter('x = 1 && y = 2');
    assert.equal(parseFilter('x = 1 && y = 2'), a);
    assert.ok(Object.isFrozen(a));
    assert.ok(Object.isFrozen((a as { items: readonly ExprNode[] }).items[0]));
  });
});
