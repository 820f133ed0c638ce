/**
 * A parser for the regular-expression syntax PocketBase accepts in `pattern` / `autogeneratePattern`
 * (Go's RE2 syntax). Field patterns are written by superusers but run against every client value, so
 * they are never handed to JavaScript's backtracking RegExp: they are parsed here into a small tree that
 * ./pattern-match.ts runs in linear time and ./pattern-generate.ts turns into random strings.
 *
 * Supported: literals, `.`, `[...]` classes (ranges, negation, `[:alpha:]`-style POSIX classes), `\d \w \s`
 * and their negations, `\pL` / `\p{Greek}`, escapes (`\n`, `\x41`, `\x{263a}`, octal, `\Q…\E`), groups
 * (`(…)`, `(?:…)`, `(?P<n>…)`, `(?<n>…)`), flags `i m s U` (`(?i)`, `(?i:…)`), alternation, `* + ?`,
 * `{n}`, `{n,}`, `{n,m}` (≤ 1000) with lazy variants, and the assertions `^ $ \A \z \b \B`.
 * Like RE2, there are no backreferences or lookarounds.
 */

/** A set of code points: sorted, merged `[lo, hi]` pairs, optional Unicode properties, negation and case folding. */
export interface CharClass {
  readonly ranges: readonly number[];
  readonly props: readonly { readonly re: RegExp; readonly negate: boolean }[];
  readonly negate: boolean;
  readonly fold: boolean;
}

export type AssertKind = 'bot' | 'eot' | 'bol' | 'eol' | 'word' | 'nonword';

export type PatternNode =
  | { readonly kind: 'empty' }
  | { readonly kind: 'char'; readonly cls: CharClass }
  | { readonly kind: 'concat'; readonly items: readonly PatternNode[] }
  | { readonly kind: 'alt'; readonly items: readonly PatternNode[] }
  | { readonly kind: 'repeat'; readonly node: PatternNode; readonly min: number; readonly max: number }
  | { readonly kind: 'assert'; readonly what: AssertKind };

/** Thrown for a pattern this engine does not accept; the message is safe to show to superusers. */
export class PatternSyntaxError extends Error {
  override readonly name = 'PatternSyntaxError';
}

/** Longest accepted pattern (in UTF-16 code units). */
export const MAX_PATTERN_LENGTH = 1000;
/** Largest `{n,m}` count (RE2's limit). */
export const MAX_REPEAT = 1000;
const MAX_DEPTH = 100;
const MAX_CODE_POINT = 0x10ffff;

interface Flags {
  i: boolean;
  m: boolean;
  s: boolean;
}

const DIGIT = [0x30, 0x39];
const WORD = [0x30, 0x39, 0x41, 0x5a, 0x5f, 0x5f, 0x61, 0x7a];
const SPACE = [0x09, 0x0a, 0x0c, 0x0d, 0x20, 0x20];

const POSIX: Record<string, number[]> = {
  alnum: [0x30, 0x39, 0x41, 0x5a, 0x61, 0x7a],
  alpha: [0x41, 0x5a, 0x61, 0x7a],
  ascii: [0x00, 0x7f],
  blank: [0x09, 0x09, 0x20, 0x20],
  cntrl: [0x00, 0x1f, 0x7f, 0x7f],
  digit: DIGIT,
  graph: [0x21, 0x7e],
  lower: [0x61, 0x7a],
  print: [0x20, 0x7e],
  punct: [0x21, 0x2f, 0x3a, 0x40, 0x5b, 0x60, 0x7b, 0x7e],
  space: [0x09, 0x0d, 0x20, 0x20],
  upper: [0x41, 0x5a],
  word: WORD,
  xdigit: [0x30, 0x39, 0x41, 0x46, 0x61, 0x66],
};

/** Sorts and merges `[lo, hi]` pairs. */
function normalizeRanges(pairs: readonly number[]): number[] {
  const list: [number, number][] = [];
  for (let i = 0; i + 1 < pairs.length; i += 2) list.push([pairs[i] as number, pairs[i + 1] as number]);
  list.sort((a, b) => a[0] - b[0]);
  const out: number[] = [];
  for (const [lo, hi] of list) {
    const last = out.length - 1;
    if (last > 0 && lo <= (out[last] as number) + 1) out[last] = Math.max(out[last] as number, hi);
    else out.push(lo, hi);
  }
  return out;
}

/** The complement of a set of ranges within all code points. */
function complementRanges(pairs: readonly number[]): number[] {
  const ranges = normalizeRanges(pairs);
  const out: number[] = [];
  let next = 0;
  for (let i = 0; i < ranges.length; i += 2) {
    const lo = ranges[i] as number;
    if (lo > next) out.push(next, lo - 1);
    next = (ranges[i + 1] as number) + 1;
  }
  if (next <= MAX_CODE_POINT) out.push(next, MAX_CODE_POINT);
  return out;
}

function makeClass(ranges: readonly number[], negate: boolean, fold: boolean, props: CharClass['props'] = []): CharClass {
  return { ranges: normalizeRanges(ranges), negate, fold, props };
}

function inRanges(ranges: readonly number[], cp: number): boolean {
  for (let i = 0; i < ranges.length; i += 2) {
    if (cp < (ranges[i] as number)) return false;
    if (cp <= (ranges[i + 1] as number)) return true;
  }
  return false;
}

function rawMatch(cls: CharClass, cp: number): boolean {
  if (inRanges(cls.ranges, cp)) return true;
  if (cls.props.length === 0) return false;
  const ch = String.fromCodePoint(cp);
  return cls.props.some((p) => p.re.test(ch) !== p.negate);
}

/** Whether a code point belongs to a class (honouring case folding and negation). */
export function classMatches(cls: CharClass, cp: number): boolean {
  let hit = rawMatch(cls, cp);
  if (!hit && cls.fold) {
    const ch = String.fromCodePoint(cp);
    const lower = ch.toLowerCase().codePointAt(0) as number;
    const upper = ch.toUpperCase().codePointAt(0) as number;
    hit = (lower !== cp && rawMatch(cls, lower)) || (upper !== cp && rawMatch(cls, upper));
  }
  return hit !== cls.negate;
}

const UNICODE_NAME_RE = /^[A-Za-z_]{1,40}$/;

/** A Unicode property (`\pL`, `\p{Greek}`) as a single-code-point JS test: no quantifiers, so no backtracking risk. */
function unicodeProperty(name: string): RegExp {
  if (name === 'Any') return /^[\s\S]$/u;
  if (!UNICODE_NAME_RE.test(name)) throw new PatternSyntaxError(`invalid character class range: \\p{${name}}`);
  for (const source of [`^\\p{${name}}$`, `^\\p{Script=${name}}$`]) {
    try {
      return new RegExp(source, 'u');
    } catch {
      // try the next spelling
    }
  }
  throw new PatternSyntaxError(`invalid character class range: \\p{${name}}`);
}

function isAlnum(cp: number): boolean {
  return (cp >= 0x30 && cp <= 0x39) || (cp >= 0x41 && cp <= 0x5a) || (cp >= 0x61 && cp <= 0x7a);
}

function isDigit(cp: number | undefined): cp is number {
  return cp !== undefined && cp >= 0x30 && cp <= 0x39;
}

function hexValue(cp: number | undefined): number {
  if (cp === undefined) return -1;
  if (cp >= 0x30 && cp <= 0x39) return cp - 0x30;
  if (cp >= 0x41 && cp <= 0x46) return cp - 0x37;
  if (cp >= 0x61 && cp <= 0x66) return cp - 0x57;
  return -1;
}

const SIMPLE_ESCAPES: Record<string, number> = { a: 7, f: 12, t: 9, n: 10, r: 13, v: 11 };

class Parser {
  private readonly cps: number[];
  private pos = 0;
  private depth = 0;

  constructor(src: string) {
    this.cps = Array.from(src, (c) => c.codePointAt(0) as number);
  }

  parse(): PatternNode {
    const node = this.parseAlt({ i: false, m: false, s: false });
    if (this.pos < this.cps.length) throw new PatternSyntaxError('unexpected ): too many closing parentheses');
    return node;
  }

  private peek(offset = 0): number | undefined {
    return this.cps[this.pos + offset];
  }

  private is(ch: string, offset = 0): boolean {
    return this.peek(offset) === ch.codePointAt(0);
  }

  private parseAlt(flags: Flags): PatternNode {
    const branches = [this.parseConcat(flags)];
    while (this.is('|')) {
      this.pos++;
      branches.push(this.parseConcat(flags));
    }
    return branches.length === 1 ? (branches[0] as PatternNode) : { kind: 'alt', items: branches };
  }

  private parseConcat(flags: Flags): PatternNode {
    const items: PatternNode[] = [];
    while (this.pos < this.cps.length && !this.is('|') && !this.is(')')) {
      const atom = this.parseAtom(flags);
      if (atom === null) continue; // a flag group like (?i) changes flags only
      items.push(this.parseQuantifier(atom));
    }
    if (items.length === 0) return { kind: 'empty' };
    return items.length === 1 ? (items[0] as PatternNode) : { kind: 'concat', items };
  }

  /** Reads `{n}`, `{n,}` or `{n,m}` at the cursor; null (cursor unchanged) if it is not one (then `{` is literal). */
  private readCount(): { min: number; max: number } | null {
    const start = this.pos;
    const readInt = (): number | null => {
      let digits = '';
      while (isDigit(this.peek())) digits += String.fromCodePoint(this.cps[this.pos++] as number);
      return digits === '' ? null : Number(digits); // huge counts fail the MAX_REPEAT check below
    };
    this.pos++; // {
    const min = readInt();
    let max = min;
    if (min !== null && this.is(',')) {
      this.pos++;
      max = this.is('}') ? -1 : readInt();
    }
    if (min === null || max === null || !this.is('}')) {
      this.pos = start;
      return null;
    }
    this.pos++; // }
    if (min > MAX_REPEAT || max > MAX_REPEAT || (max !== -1 && max < min)) {
      throw new PatternSyntaxError(`invalid repeat count (at most ${MAX_REPEAT}, and min ≤ max)`);
    }
    return { min, max };
  }

  private parseQuantifier(atom: PatternNode): PatternNode {
    let node = atom;
    let quantified = false;
    for (;;) {
      let range: { min: number; max: number } | null = null;
      if (this.is('*')) range = { min: 0, max: -1 };
      else if (this.is('+')) range = { min: 1, max: -1 };
      else if (this.is('?')) range = { min: 0, max: 1 };
      if (range) this.pos++;
      else if (this.is('{')) range = this.readCount();
      if (!range) return node;
      if (quantified) throw new PatternSyntaxError('invalid nested repetition operator');
      quantified = true;
      if (this.is('?')) this.pos++; // lazy: irrelevant for a yes/no match
      node = { kind: 'repeat', node, min: range.min, max: range.max };
    }
  }

  private parseAtom(flags: Flags): PatternNode | null {
    const cp = this.peek() as number;
    const ch = String.fromCodePoint(cp);
    switch (ch) {
      case '(':
        return this.parseGroup(flags);
      case '[':
        return this.parseClass(flags);
      case '.':
        this.pos++;
        return { kind: 'char', cls: flags.s ? makeClass([0, MAX_CODE_POINT], false, false) : makeClass([0x0a, 0x0a], true, false) };
      case '^':
        this.pos++;
        return { kind: 'assert', what: flags.m ? 'bol' : 'bot' };
      case '$':
        this.pos++;
        return { kind: 'assert', what: flags.m ? 'eol' : 'eot' };
      case '\\':
        return this.parseEscapeAtom(flags);
      case '*':
      case '+':
      case '?':
        throw new PatternSyntaxError(`missing argument to repetition operator: ${ch}`);
      case '{':
        if (this.readCount()) throw new PatternSyntaxError('missing argument to repetition operator: {');
        this.pos++;
        return this.literal(cp, flags);
      default:
        this.pos++;
        return this.literal(cp, flags);
    }
  }

  private literal(cp: number, flags: Flags): PatternNode {
    return { kind: 'char', cls: makeClass([cp, cp], false, flags.i) };
  }

  private parseGroup(flags: Flags): PatternNode | null {
    this.pos++; // (
    let inner: Flags = { ...flags };
    if (this.is('?')) {
      this.pos++;
      if (this.is('P') && this.is('<', 1)) {
        this.pos += 2;
        this.readGroupName();
      } else if (this.is('<')) {
        this.pos++;
        this.readGroupName();
      } else if (this.is(':')) {
        this.pos++;
      } else {
        const result = this.readFlags(flags);
        if (result.close) {
          Object.assign(flags, result.flags); // (?i) applies to the rest of the enclosing group
          return null;
        }
        inner = result.flags;
      }
    }
    if (++this.depth > MAX_DEPTH) throw new PatternSyntaxError('expression nests too deeply');
    const node = this.parseAlt(inner);
    this.depth--;
    if (!this.is(')')) throw new PatternSyntaxError('missing closing )');
    this.pos++;
    return node;
  }

  private readGroupName(): void {
    let name = '';
    while (this.pos < this.cps.length && !this.is('>')) name += String.fromCodePoint(this.cps[this.pos++] as number);
    if (!this.is('>') || !/^[A-Za-z0-9_]+$/.test(name)) throw new PatternSyntaxError('invalid named capture');
    this.pos++;
  }

  /** Parses `imsU-imsU` then `)` or `:` (the `(?` is consumed). */
  private readFlags(base: Flags): { flags: Flags; close: boolean } {
    const flags = { ...base };
    let negate = false;
    let any = false;
    for (;;) {
      const c = this.peek();
      if (c === undefined) throw new PatternSyntaxError('missing closing )');
      const ch = String.fromCodePoint(c);
      this.pos++;
      if (ch === 'i' || ch === 'm' || ch === 's') {
        flags[ch] = !negate;
        any = true;
      } else if (ch === 'U') {
        any = true; // ungreedy: irrelevant for a yes/no match
      } else if (ch === '-' && !negate) {
        negate = true;
        any = false;
      } else if ((ch === ')' || ch === ':') && any) {
        return { flags, close: ch === ')' };
      } else {
        throw new PatternSyntaxError('invalid or unsupported Perl syntax (lookarounds and backreferences are not supported)');
      }
    }
  }

  private parseEscapeAtom(flags: Flags): PatternNode {
    const next = this.peek(1);
    if (next === undefined) throw new PatternSyntaxError('trailing backslash at end of expression');
    const ch = String.fromCodePoint(next);
    const asserts: Record<string, AssertKind> = { A: 'bot', z: 'eot', b: 'word', B: 'nonword' };
    if (asserts[ch]) {
      this.pos += 2;
      return { kind: 'assert', what: asserts[ch] as AssertKind };
    }
    if (ch === 'Q') {
      this.pos += 2;
      const items: PatternNode[] = [];
      while (this.pos < this.cps.length && !(this.is('\\') && this.is('E', 1))) items.push(this.literal(this.cps[this.pos++] as number, flags));
      if (this.pos < this.cps.length) this.pos += 2;
      return items.length === 1 ? (items[0] as PatternNode) : { kind: 'concat', items };
    }
    const cls = this.readClassEscape(flags.i);
    if (cls) return { kind: 'char', cls };
    return this.literal(this.readCharEscape(), flags);
  }

  /** `\d \D \s \S \w \W \p… \P…` at the cursor (a backslash), or null if it is another escape. */
  private readClassEscape(fold: boolean): CharClass | null {
    const next = this.peek(1);
    if (next === undefined) return null; // a trailing backslash: reported by readCharEscape
    const ch = String.fromCodePoint(next);
    const perl: Record<string, number[]> = { d: DIGIT, s: SPACE, w: WORD };
    const lower = ch.toLowerCase();
    if (perl[lower]) {
      this.pos += 2;
      return makeClass(perl[lower] as number[], ch !== lower, fold);
    }
    if (ch === 'p' || ch === 'P') {
      this.pos += 2;
      let name: string;
      if (this.is('{')) {
        const end = this.cps.indexOf(0x7d, this.pos);
        if (end < 0) throw new PatternSyntaxError('invalid character class range: missing }');
        name = String.fromCodePoint(...this.cps.slice(this.pos + 1, end));
        this.pos = end + 1;
      } else {
        const c = this.peek();
        if (c === undefined) throw new PatternSyntaxError('invalid character class range');
        name = String.fromCodePoint(c);
        this.pos++;
      }
      let negate = ch === 'P';
      if (name.startsWith('^')) {
        negate = !negate;
        name = name.slice(1);
      }
      return makeClass([], false, fold, [{ re: unicodeProperty(name), negate }]);
    }
    return null;
  }

  /** A single-character escape at the cursor (a backslash); returns its code point. */
  private readCharEscape(): number {
    this.pos++; // backslash
    const c = this.peek();
    if (c === undefined) throw new PatternSyntaxError('trailing backslash at end of expression');
    const ch = String.fromCodePoint(c);
    this.pos++;
    if (SIMPLE_ESCAPES[ch] !== undefined) return SIMPLE_ESCAPES[ch] as number;
    if (ch >= '0' && ch <= '7') {
      // RE2: a lone \1–\7 would be a backreference (unsupported); \0 or two+ octal digits are a character.
      if (ch !== '0' && !(this.peek() !== undefined && (this.peek() as number) >= 0x30 && (this.peek() as number) <= 0x37)) {
        throw new PatternSyntaxError(`invalid escape sequence: \\${ch}`);
      }
      let value = c - 0x30;
      for (let k = 0; k < 2 && (this.peek() ?? 0) >= 0x30 && (this.peek() ?? 0) <= 0x37; k++) value = value * 8 + ((this.cps[this.pos++] as number) - 0x30);
      return value;
    }
    if (ch === 'x') {
      if (this.is('{')) {
        this.pos++;
        let value = 0;
        let digits = 0;
        while (hexValue(this.peek()) >= 0) {
          value = value * 16 + hexValue(this.cps[this.pos++]);
          if (++digits > 8 || value > MAX_CODE_POINT) throw new PatternSyntaxError('invalid escape sequence: \\x{…}');
        }
        if (digits === 0 || !this.is('}')) throw new PatternSyntaxError('invalid escape sequence: \\x{…}');
        this.pos++;
        return value;
      }
      const hi = hexValue(this.peek());
      const lo = hexValue(this.peek(1));
      if (hi < 0 || lo < 0) throw new PatternSyntaxError('invalid escape sequence: \\x');
      this.pos += 2;
      return hi * 16 + lo;
    }
    if (c < 0x80 && !isAlnum(c)) return c; // escaped punctuation
    throw new PatternSyntaxError(`invalid escape sequence: \\${ch}`);
  }

  private parseClass(flags: Flags): PatternNode {
    this.pos++; // [
    let negate = false;
    if (this.is('^')) {
      negate = true;
      this.pos++;
    }
    const ranges: number[] = [];
    const props: { re: RegExp; negate: boolean }[] = [];
    let first = true;
    for (;;) {
      const c = this.peek();
      if (c === undefined) throw new PatternSyntaxError('missing closing ]');
      if (c === 0x5d && !first) {
        this.pos++;
        break;
      }
      first = false;
      if (c === 0x5b && this.is(':', 1)) {
        const posix = this.readPosix();
        if (posix) {
          ranges.push(...posix);
          continue;
        }
      }
      if (c === 0x5c) {
        const cls = this.readClassEscape(false);
        if (cls) {
          ranges.push(...(cls.negate ? complementRanges(cls.ranges) : cls.ranges));
          props.push(...cls.props);
          continue;
        }
      }
      const lo = this.readClassChar();
      if (this.is('-') && this.peek(1) !== undefined && !this.is(']', 1)) {
        this.pos++;
        if (this.is('\\') && this.readsClassEscapeAhead()) throw new PatternSyntaxError('invalid character class range');
        const hi = this.readClassChar();
        if (hi < lo) throw new PatternSyntaxError('invalid character class range');
        ranges.push(lo, hi);
      } else {
        ranges.push(lo, lo);
      }
    }
    return { kind: 'char', cls: makeClass(ranges, negate, flags.i, props) };
  }

  private readsClassEscapeAhead(): boolean {
    const ch = this.peek(1);
    return ch !== undefined && 'dDsSwWpP'.includes(String.fromCodePoint(ch));
  }

  private readClassChar(): number {
    if (this.is('\\')) return this.readCharEscape();
    return this.cps[this.pos++] as number;
  }

  /** `[:name:]` / `[:^name:]` at the cursor; null (cursor unchanged) if it is not a POSIX class. */
  private readPosix(): number[] | null {
    const start = this.pos;
    const end = this.cps.indexOf(0x5d, this.pos);
    if (end < 0) return null;
    const text = String.fromCodePoint(...this.cps.slice(this.pos, end + 1));
    const m = /^\[:(\^?)([a-z]+):\]$/.exec(text);
    if (!m) return null;
    const set = POSIX[m[2] as string];
    if (!set) throw new PatternSyntaxError(`invalid character class range: ${text}`);
    this.pos = start + [...text].length;
    return m[1] ? complementRanges(set) : [...set];
  }
}

/** Parses a pattern; throws PatternSyntaxError when it is invalid, unsupported or too long. */
export function parsePattern(src: string): PatternNode {
  if (src.length > MAX_PATTERN_LENGTH) throw new PatternSyntaxError(`the pattern is longer than ${MAX_PATTERN_LENGTH} characters`);
  return new Parser(src).parse();
}
