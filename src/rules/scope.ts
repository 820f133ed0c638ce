/**
 * Table aliases and join scopes. Every table a compiled fragment references besides the caller's root
 * gets a generated alias, and every generated alias lives inside the fragment's own subquery
 * (EXISTS / NOT EXISTS / scalar subquery), so sibling fragments may reuse names without clashing; the
 * generator only has to avoid the root alias and stay unique within one compile (nested rule compiles
 * share it).
 */
import { ident, join, sql, type Sql } from '../db/sql.js';

/** Hands out SQL-safe aliases, unique per generator. */
export interface AliasGenerator {
  next(): string;
}

const SAFE_PREFIX = /^[A-Za-z_][A-Za-z0-9_]{0,200}$/;

/** A counter-based alias source (`_rl1`, `_rl2` …) that skips the reserved names (the root alias). */
export function createAliasGenerator(prefix = '_rl', reserved: Iterable<string> = []): AliasGenerator {
  if (!SAFE_PREFIX.test(prefix)) throw new TypeError(`unsafe alias prefix ${JSON.stringify(prefix)}`);
  const taken = new Set(reserved);
  let n = 0;
  return {
    next() {
      let name: string;
      do name = `${prefix}${++n}`;
      while (taken.has(name));
      return name;
    },
  };
}

/**
 * LEFT JOINs collected for one subquery. Keyed joins are registered once, so every reference to the same
 * relation path (or the same `@collection` alias) inside one expression reads the same joined row.
 */
export class JoinScope {
  private readonly byKey = new Map<string, string>();
  private readonly parts: Sql[] = [];

  constructor(readonly aliases: AliasGenerator) {}

  get isEmpty(): boolean {
    return this.parts.length === 0;
  }

  /** `LEFT JOIN <source> AS <alias> ON <on(alias)>`, once per key (null key: always a new join). */
  join(key: string | null, source: Sql, on: (alias: string) => Sql): string {
    if (key !== null) {
      const existing = this.byKey.get(key);
      if (existing) return existing;
    }
    const alias = this.aliases.next();
    const condition = on(alias);
    if (key !== null) this.byKey.set(key, alias);
    this.parts.push(sql` LEFT JOIN ${source} AS ${ident(alias)} ON ${condition}`);
    return alias;
  }

  /**
   * A FROM body that always yields at least one row: `(SELECT 1) AS b LEFT JOIN …`. Missing relations and
   * empty lists therefore show up as one all-NULL row, as with PocketBase's LEFT JOINs from the record.
   */
  from(): Sql {
    return sql`(SELECT 1) AS ${ident(this.aliases.next())}${join(this.parts, sql``)}`;
  }
}
