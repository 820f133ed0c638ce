/**
 * Tokenizer for PocketBase's filter grammar (fexpr). One flat, iterative pass: parenthesis depth is
 * tracked here, so hostile nesting (10,000 `(`) is rejected at the 33rd bracket, before the recursive
 * parser ever runs.
 */
import { COMPARE_OPS, type CompareOp } from './ast.js';
import { filterError } from './errors.js';
import { MAX_DEPTH } from './limits.js';

/** A lexical token with its 0-based source position. */
export type Token =
  | { readonly kind: 'ident'; readonly value: string; readonly pos: number }
  /** An identifier immediately followed by `(`: a function call opener (the `(` is consumed). */
  | { readonly kind: 'call'; readonly value: string; readonly pos: number }
  | { readonly kind: 'text'; readonly value: string; readonly pos: number }
  | { readonly kind: 'number'; readonly value: number; readonly raw: string; readonly pos: number }
  | { readonly kind: 'op'; readonly op: CompareOp; readonly any: boolean; readonly pos: number }
  | { readonly kind: 'and' | 'or' | 'lparen' | 'rparen' | 'comma' | 'eof'; readonly pos: number };

const OPS = new Map<string, { op: CompareOp; any: boolean }>();
for (const op of COMPARE_OPS) {
  OPS.set(op, { op, any: false });
  OPS.set(`?${op}`, { op, any: true });
}

// fexpr's identifier shape: one optional leading @ # or _, then word chars, dots and colons, ending in a word char.
const IDENT_RE = /^[@#_]?[\w.:]*\w$/;
// Digits with at most one inner dot: `.5` and `5.` are invalid, as in fexpr.
const NUMBER_RE = /^-?\d+(?:\.\d+)?$/;

const isDigit = (c: number) => c >= 48 && c <= 57;
const isLetter = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
/** `_` `@` `#` and ASCII letters start an identifier. */
const isIdentStart = (c: number) => isLetter(c) || c === 95 || c === 64 || c === 35;
const isIdentPart = (c: number) => isIdentStart(c) || isDigit(c) || c === 46 || c === 58;
const isSpace = (c: number) => c === 32 || c === 9 || c === 10 || c === 13;
const isSignChar = (c: number) => c === 61 || c === 63 || c === 33 || c === 62 || c === 60 || c === 126; // = ? ! > < ~
const isJoinChar = (c: number) => c === 38 || c === 124; // & |

function describe(ch: string): string {
  return JSON.stringify(ch);
}

/** Splits a filter into tokens (ending with `eof`), or throws an `invalid_filter` AppError with a position. */
export function tokenize(src: string): Token[] {
  // NUL truncates SQLite's LIKE patterns and is rejected by PostgreSQL text params: refuse it outright.
  const nul = src.indexOf('\u0000');
  if (nul !== -1) throw filterError('unexpected NUL character', nul);
  const tokens: Token[] = [];
  const n = src.length;
  let i = 0;
  let depth = 0;

  const open = (pos: number) => {
    depth++;
    if (depth > MAX_DEPTH) throw filterError(`expression nested too deeply (max ${MAX_DEPTH} levels)`, pos);
  };

  while (i < n) {
    const c = src.charCodeAt(i);
    const start = i;

    if (isSpace(c)) {
      i++;
      continue;
    }
    // `// ...` comment up to the end of the line
    if (c === 47 && src.charCodeAt(i + 1) === 47) {
      const nl = src.indexOf('\n', i + 2);
      i = nl === -1 ? n : nl + 1;
      continue;
    }
    if (c === 40) {
      open(start);
      tokens.push({ kind: 'lparen', pos: start });
      i++;
      continue;
    }
    if (c === 41) {
      if (depth === 0) throw filterError('unexpected ")"', start);
      depth--;
      tokens.push({ kind: 'rparen', pos: start });
      i++;
      continue;
    }
    if (c === 44) {
      tokens.push({ kind: 'comma', pos: start });
      i++;
      continue;
    }
    if (isIdentStart(c)) {
      while (i < n && isIdentPart(src.charCodeAt(i))) i++;
      const value = src.slice(start, i);
      if (!IDENT_RE.test(value)) throw filterError(`invalid identifier ${describe(value)}`, start);
      if (src.charCodeAt(i) === 40) {
        open(i);
        i++;
        tokens.push({ kind: 'call', value, pos: start });
      } else {
        tokens.push({ kind: 'ident', value, pos: start });
      }
      continue;
    }
    if (isDigit(c) || c === 45) {
      i++;
      while (i < n && (isDigit(src.charCodeAt(i)) || src.charCodeAt(i) === 46)) i++;
      const raw = src.slice(start, i);
      if (!NUMBER_RE.test(raw)) throw filterError(`invalid number ${describe(raw)}`, start);
      tokens.push({ kind: 'number', value: Number(raw), raw, pos: start });
      continue;
    }
    if (c === 39 || c === 34) {
      // Ends at the first matching quote not preceded by a backslash; only `\<quote>` is unescaped,
      // every other backslash stays literal (fexpr's rule).
      const quote = src[i] as string;
      i++;
      let closed = false;
      while (i < n) {
        if (src.charCodeAt(i) === c && src.charCodeAt(i - 1) !== 92) {
          closed = true;
          break;
        }
        i++;
      }
      if (!closed) throw filterError('unterminated quoted text', start);
      const value = src
        .slice(start + 1, i)
        .split(`\\${quote}`)
        .join(quote);
      i++;
      tokens.push({ kind: 'text', value, pos: start });
      continue;
    }
    if (isSignChar(c)) {
      while (i < n && isSignChar(src.charCodeAt(i))) i++;
      const raw = src.slice(start, i);
      const op = OPS.get(raw);
      if (!op) throw filterError(`invalid operator ${describe(raw)}`, start);
      tokens.push({ kind: 'op', op: op.op, any: op.any, pos: start });
      continue;
    }
    if (isJoinChar(c)) {
      while (i < n && isJoinChar(src.charCodeAt(i))) i++;
      const raw = src.slice(start, i);
      if (raw === '&&') tokens.push({ kind: 'and', pos: start });
      else if (raw === '||') tokens.push({ kind: 'or', pos: start });
      else throw filterError(`invalid join operator ${describe(raw)}`, start);
      continue;
    }
    const ch = String.fromCodePoint(src.codePointAt(i) ?? c);
    throw filterError(`unexpected character ${describe(ch)}`, start);
  }
  if (depth > 0) throw filterError(`missing ${depth} closing parenthesis`, n);
  tokens.push({ kind: 'eof', pos: n });
  return tokens;
}
