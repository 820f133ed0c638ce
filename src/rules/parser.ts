/**
 * Recursive-descent parser over the token list: `||` < `&&` < comparison, parentheses group. The lexer
 * has already bounded nesting (MAX_DEPTH), so recursion here is shallow by construction. Parsed ASTs are
 * frozen and cached by source string.
 */
import type { CallNode, CompareNode, ExprNode, OperandNode } from './ast.js';
import { filterError } from './errors.js';
import { tokenize, type Token } from './lexer.js';
import { LruCache } from './lru.js';
import { MAX_CALL_DEPTH, MAX_EXPRESSION_LENGTH, MAX_EXPRESSIONS, PARSE_CACHE_SIZE } from './limits.js';

const cache = new LruCache<string, ExprNode>(PARSE_CACHE_SIZE);

function tokenText(t: Token): string {
  switch (t.kind) {
    case 'ident':
    case 'call':
      return JSON.stringify(t.value);
    case 'text':
      return 'quoted text';
    case 'number':
      return JSON.stringify(t.raw);
    case 'op':
      return JSON.stringify((t.any ? '?' : '') + t.op);
    case 'and':
      return '"&&"';
    case 'or':
      return '"||"';
    case 'lparen':
      return '"("';
    case 'rparen':
      return '")"';
    case 'comma':
      return '","';
    case 'eof':
      return 'end of input';
  }
}

class Parser {
  private i = 0;
  private comparisons = 0;
  constructor(private readonly tokens: Token[]) {}

  private peek(): Token {
    return this.tokens[this.i] as Token;
  }
  private next(): Token {
    return this.tokens[this.i++] as Token;
  }
  private unexpected(t: Token, expected: string): never {
    throw filterError(`expected ${expected}, got ${tokenText(t)}`, t.pos);
  }

  parse(): ExprNode {
    if (this.peek().kind === 'eof') throw filterError('empty expression');
    const node = this.parseOr();
    const t = this.peek();
    if (t.kind !== 'eof') this.unexpected(t, '"&&", "||" or end of input');
    return node;
  }

  private parseOr(): ExprNode {
    const items = [this.parseAnd()];
    while (this.peek().kind === 'or') {
      this.next();
      items.push(this.parseAnd());
    }
    return items.length === 1 ? (items[0] as ExprNode) : Object.freeze({ kind: 'or', items: Object.freeze(items) });
  }

  private parseAnd(): ExprNode {
    const items = [this.parsePrimary()];
    while (this.peek().kind === 'and') {
      this.next();
      items.push(this.parsePrimary());
    }
    return items.length === 1 ? (items[0] as ExprNode) : Object.freeze({ kind: 'and', items: Object.freeze(items) });
  }

  private parsePrimary(): ExprNode {
    const t = this.peek();
    if (t.kind === 'lparen') {
      this.next();
      if (this.peek().kind === 'rparen') throw filterError('empty parentheses', t.pos);
      const inner = this.parseOr();
      const close = this.next();
      if (close.kind !== 'rparen') this.unexpected(close, '")"');
      return inner;
    }
    return this.parseComparison();
  }

  private parseComparison(): CompareNode {
    const left = this.parseOperand(0);
    const opTok = this.next();
    if (opTok.kind !== 'op') this.unexpected(opTok, 'an operator (=, !=, >, >=, <, <=, ~, !~ or their ? forms)');
    const right = this.parseOperand(0);
    if (++this.comparisons > MAX_EXPRESSIONS) {
      throw filterError(`too many expressions (max ${MAX_EXPRESSIONS})`, left.pos);
    }
    return Object.freeze({ kind: 'compare', op: opTok.op, any: opTok.any, left, right, pos: left.pos });
  }

  private parseOperand(callDepth: number): OperandNode {
    const t = this.next();
    switch (t.kind) {
      case 'ident': {
        const lower = t.value.toLowerCase();
        if (lower === 'true' || lower === 'false') return Object.freeze({ kind: 'bool', value: lower === 'true', pos: t.pos });
        if (lower === 'null') return Object.freeze({ kind: 'null', pos: t.pos });
        return Object.freeze({ kind: 'identifier', name: t.value, pos: t.pos });
      }
      case 'text':
        return Object.freeze({ kind: 'text', value: t.value, pos: t.pos });
      case 'number':
        return Object.freeze({ kind: 'number', value: t.value, raw: t.raw, pos: t.pos });
      case 'call':
        return this.parseCall(t.value, t.pos, callDepth + 1);
      default:
        return this.unexpected(t, 'an operand (identifier, quoted text, number or function call)');
    }
  }

  /** `name(arg, ...)` with the `(` already consumed; a trailing comma is allowed. */
  private parseCall(name: string, pos: number, depth: number): CallNode {
    if (depth > MAX_CALL_DEPTH) throw filterError(`function calls nested too deeply (max ${MAX_CALL_DEPTH})`, pos);
    const args: OperandNode[] = [];
    while (this.peek().kind !== 'rparen') {
      args.push(this.parseOperand(depth));
      const sep = this.peek();
      if (sep.kind === 'comma') this.next();
      else if (sep.kind !== 'rparen') this.unexpected(sep, '"," or ")"');
    }
    this.next();
    return Object.freeze({ kind: 'call', name, args: Object.freeze(args), pos });
  }
}

/**
 * Parses a filter expression into a frozen AST (cached by source). Throws `invalid_filter` AppErrors
 * with positions; enforces the expression, nesting and absolute length limits (the 3500-character
 * client limit is the compiler's job, since rules may be longer).
 */
export function parseFilter(src: string): ExprNode {
  if (typeof src !== 'string') throw filterError('expression must be a string');
  const hit = cache.get(src);
  if (hit) return hit;
  if (src.length > MAX_EXPRESSION_LENGTH) throw filterError(`expression too long (max ${MAX_EXPRESSION_LENGTH} characters)`);
  const ast = new Parser(tokenize(src)).parse();
  cache.set(src, ast);
  return ast;
}

/** Drops every cached AST (tests; memory pressure). */
export function clearParseCache(): void {
  cache.clear();
}
