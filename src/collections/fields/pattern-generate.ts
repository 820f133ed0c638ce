/**
 * Random strings from a pattern (text `autogeneratePattern`, e.g. `[a-z0-9]{15}` for record ids), using
 * crypto randomness. Classes that are negated, `.`, or Unicode properties draw from printable ASCII; an
 * unbounded `*` / `+` adds at most 10 repetitions. Assertions produce nothing (the caller re-checks the
 * generated value against the field, as PocketBase does).
 */
import { randomInt } from '../../util/random.js';
import { classMatches, parsePattern, PatternSyntaxError, type CharClass, type PatternNode } from './pattern-parse.js';

/** Longest value a pattern may generate. */
export const MAX_GENERATED_LENGTH = 10_000;
const UNBOUNDED_EXTRA = 10;

const PRINTABLE_ASCII = Array.from({ length: 0x7e - 0x20 + 1 }, (_, i) => 0x20 + i);

function pickFromClass(cls: CharClass): number {
  if (!cls.negate && cls.props.length === 0 && cls.ranges.length > 0) {
    let total = 0;
    for (let i = 0; i < cls.ranges.length; i += 2) total += (cls.ranges[i + 1] as number) - (cls.ranges[i] as number) + 1;
    let k = randomInt(total);
    for (let i = 0; i < cls.ranges.length; i += 2) {
      const lo = cls.ranges[i] as number;
      const span = (cls.ranges[i + 1] as number) - lo + 1;
      if (k < span) return lo + k;
      k -= span;
    }
  }
  const candidates = PRINTABLE_ASCII.filter((cp) => classMatches(cls, cp));
  if (candidates.length === 0) throw new PatternSyntaxError('unsupported pattern: a character class has no printable ASCII character to generate');
  return candidates[randomInt(candidates.length)] as number;
}

function generate(node: PatternNode, out: number[]): void {
  if (out.length > MAX_GENERATED_LENGTH) throw new PatternSyntaxError(`the pattern generates values longer than ${MAX_GENERATED_LENGTH} characters`);
  switch (node.kind) {
    case 'empty':
    case 'assert':
      return;
    case 'char':
      out.push(pickFromClass(node.cls));
      return;
    case 'concat':
      for (const item of node.items) generate(item, out);
      return;
    case 'alt':
      generate(node.items[randomInt(node.items.length)] as PatternNode, out);
      return;
    case 'repeat': {
      const max = node.max === -1 ? node.min + UNBOUNDED_EXTRA : node.max;
      const count = node.min + randomInt(max - node.min + 1);
      for (let i = 0; i < count; i++) generate(node.node, out);
      return;
    }
  }
}

/** A random string matching `pattern`; throws PatternSyntaxError for an invalid or unsupported pattern. */
export function generateFromPattern(pattern: string): string {
  const out: number[] = [];
  generate(parsePattern(pattern), out);
  if (out.length > MAX_GENERATED_LENGTH) throw new PatternSyntaxError(`the pattern generates values longer than ${MAX_GENERATED_LENGTH} characters`);
  return String.fromCodePoint(...out);
}
