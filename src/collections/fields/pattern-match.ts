/**
 * Linear-time matching of field patterns (text/password `pattern`): the parsed tree is compiled to a
 * Thompson NFA and simulated with a set of states per input position, so the cost is at most
 * input length × program size whatever the pattern (no catastrophic backtracking, hence no ReDoS).
 * Both factors are bounded: the program by MAX_PROGRAM_SIZE, the work by MAX_MATCH_WORK.
 * Semantics are RE2's for a yes/no answer: unanchored search, `$` = end of text unless `(?m)`.
 */
import { classMatches, parsePattern, PatternSyntaxError, type AssertKind, type CharClass, type PatternNode } from './pattern-parse.js';

/** Largest compiled program (instructions), so `(x{1000}){1000}` is refused up front, like RE2's size limit. */
export const MAX_PROGRAM_SIZE = 10_000;
/** Upper bound on input length × program size for one test (~tens of milliseconds of work). */
export const MAX_MATCH_WORK = 20_000_000;

const CHAR = 0;
const SPLIT = 1;
const JMP = 2;
const ASSERT = 3;
const MATCH = 4;

type Inst =
  | { op: typeof CHAR; cls: CharClass }
  | { op: typeof SPLIT; x: number; y: number }
  | { op: typeof JMP; x: number }
  | { op: typeof ASSERT; what: AssertKind }
  | { op: typeof MATCH };

/** A compiled pattern. */
export interface CompiledPattern {
  readonly source: string;
  readonly program: readonly Inst[];
}

class Compiler {
  readonly prog: Inst[] = [];

  private emit(inst: Inst): number {
    if (this.prog.length >= MAX_PROGRAM_SIZE) throw new PatternSyntaxError('expression too large');
    this.prog.push(inst);
    return this.prog.length - 1;
  }

  compile(node: PatternNode): void {
    switch (node.kind) {
      case 'empty':
        return;
      case 'char':
        this.emit({ op: CHAR, cls: node.cls });
        return;
      case 'assert':
        this.emit({ op: ASSERT, what: node.what });
        return;
      case 'concat':
        for (const item of node.items) this.compile(item);
        return;
      case 'alt': {
        const jumps: number[] = [];
        node.items.forEach((item, i) => {
          if (i < node.items.length - 1) {
            const split = this.emit({ op: SPLIT, x: 0, y: 0 });
            (this.prog[split] as { x: number }).x = split + 1;
            this.compile(item);
            jumps.push(this.emit({ op: JMP, x: 0 }));
            (this.prog[split] as { y: number }).y = this.prog.length;
          } else {
            this.compile(item);
          }
        });
        for (const j of jumps) (this.prog[j] as { x: number }).x = this.prog.length;
        return;
      }
      case 'repeat': {
        for (let i = 0; i < node.min; i++) this.compile(node.node);
        if (node.max === -1) {
          // L: split body, end; body; jmp L
          const split = this.emit({ op: SPLIT, x: 0, y: 0 });
          (this.prog[split] as { x: number }).x = split + 1;
          this.compile(node.node);
          this.emit({ op: JMP, x: split });
          (this.prog[split] as { y: number }).y = this.prog.length;
          return;
        }
        // x{n,m}: (m - n) optional copies, each one able to skip straight to the end.
        const splits: number[] = [];
        for (let i = node.min; i < node.max; i++) {
          const split = this.emit({ op: SPLIT, x: 0, y: 0 });
          (this.prog[split] as { x: number }).x = split + 1;
          splits.push(split);
          this.compile(node.node);
        }
        for (const s of splits) (this.prog[s] as { y: number }).y = this.prog.length;
        return;
      }
    }
  }
}

const cache = new Map<string, CompiledPattern | PatternSyntaxError>();
const CACHE_LIMIT = 512;

/** Compiles (and caches) a pattern; throws PatternSyntaxError for an invalid or too large one. */
export function compilePattern(source: string): CompiledPattern {
  const hit = cache.get(source);
  if (hit instanceof PatternSyntaxError) throw hit;
  if (hit) return hit;
  let result: CompiledPattern | PatternSyntaxError;
  try {
    const compiler = new Compiler();
    compiler.compile(parsePattern(source));
    compiler.prog.push({ op: MATCH });
    result = { source, program: compiler.prog };
  } catch (err) {
    if (!(err instanceof PatternSyntaxError)) throw err;
    result = err;
  }
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(source, result);
  if (result instanceof PatternSyntaxError) throw result;
  return result;
}

/** Why a pattern is unusable (a message for `validation_invalid_regex`), or null when it compiles. */
export function patternError(source: string): string | null {
  try {
    compilePattern(source);
    return null;
  } catch (err) {
    if (err instanceof PatternSyntaxError) return err.message;
    throw err;
  }
}

function isWordChar(cp: number): boolean {
  return (cp >= 0x30 && cp <= 0x39) || (cp >= 0x41 && cp <= 0x5a) || cp === 0x5f || (cp >= 0x61 && cp <= 0x7a);
}

function assertHolds(what: AssertKind, prev: number, next: number): boolean {
  switch (what) {
    case 'bot':
      return prev === -1;
    case 'eot':
      return next === -1;
    case 'bol':
      return prev === -1 || prev === 0x0a;
    case 'eol':
      return next === -1 || next === 0x0a;
    case 'word':
    case 'nonword': {
      const boundary = (prev !== -1 && isWordChar(prev)) !== (next !== -1 && isWordChar(next));
      return what === 'word' ? boundary : !boundary;
    }
  }
}

/**
 * Runs a compiled pattern over `input` (search semantics: a match anywhere). Returns null when the work
 * bound would be exceeded, so callers can reject oversized input instead of spending unbounded time.
 */
export function runPattern(compiled: CompiledPattern, input: string): boolean | null {
  const prog = compiled.program;
  const cps = Array.from(input, (c) => c.codePointAt(0) as number);
  const n = cps.length;
  if ((n + 1) * prog.length > MAX_MATCH_WORK) return null;

  const size = prog.length;
  let current = new Int32Array(size);
  let next = new Int32Array(size);
  let currentLen = 0;
  let nextLen = 0;
  const mark = new Uint32Array(size);
  const stack = new Int32Array(size * 2 + 2);
  let generation = 0;

  // Adds pc and everything reachable through jumps, splits and satisfied assertions; true on MATCH.
  const add = (list: Int32Array, len: number, start: number, pos: number): [number, boolean] => {
    const prev = pos > 0 ? (cps[pos - 1] as number) : -1;
    const nextCp = pos < n ? (cps[pos] as number) : -1;
    let sp = 0;
    stack[sp++] = start;
    while (sp > 0) {
      const pc = stack[--sp] as number;
      if (mark[pc] === generation) continue;
      mark[pc] = generation;
      const inst = prog[pc] as Inst;
      switch (inst.op) {
        case MATCH:
          return [len, true];
        case JMP:
          stack[sp++] = inst.x;
          break;
        case SPLIT:
          stack[sp++] = inst.y;
          stack[sp++] = inst.x;
          break;
        case ASSERT:
          if (assertHolds(inst.what, prev, nextCp)) stack[sp++] = pc + 1;
          break;
        case CHAR:
          list[len++] = pc;
          break;
      }
    }
    return [len, false];
  };

  generation++;
  for (let pos = 0; ; pos++) {
    // Unanchored search: a new thread may start at every position.
    let matched: boolean;
    [currentLen, matched] = add(current, currentLen, 0, pos);
    if (matched) return true;
    if (pos === n) return false;
    const cp = cps[pos] as number;
    generation++;
    nextLen = 0;
    for (let i = 0; i < currentLen; i++) {
      const pc = current[i] as number;
      const inst = prog[pc] as Inst;
      if (inst.op === CHAR && classMatches(inst.cls, cp)) {
        [nextLen, matched] = add(next, nextLen, pc + 1, pos + 1);
        if (matched) return true;
      }
    }
    [current, next] = [next, current];
    currentLen = nextLen;
  }
}

/**
 * Whether `input` matches `pattern`. Invalid patterns and inputs past the work bound do not match (the
 * field is then rejected with `validation_invalid_format`, never run unbounded).
 */
export function testPattern(pattern: string, input: string): boolean {
  let compiled: CompiledPattern;
  try {
    compiled = compilePattern(pattern);
  } catch (err) {
    if (err instanceof PatternSyntaxError) return false;
    throw err;
  }
  return runPattern(compiled, input) === true;
}
