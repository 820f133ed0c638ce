/**
 * SQL fragments: the only way Plinth builds SQL.
 *
 * A fragment is a list of nodes: constant text written in Plinth's own source (the strings of a `sql`
 * template), bound parameters (every interpolated value), and identifiers (made with `ident()`, checked
 * here for a safe charset and quoted by the dialect). There is deliberately no "raw" escape hatch: user
 * text can only ever become a parameter, and a name only an identifier the caller has already matched
 * against the schema.
 *
 * @example
 *   sql`SELECT * FROM ${ident(collection.name)} WHERE ${ident('id')} = ${id}`
 */

import { quoteIdent } from './compile.js';

/** A value SQL can bind. Booleans are mapped by the dialect (SQLite: 1/0). */
export type SqlValue = string | number | bigint | boolean | null | Uint8Array;

export type SqlNode =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'param'; readonly value: SqlValue }
  | { readonly kind: 'ident'; readonly names: readonly string[]; readonly quoted: string }
  /** A value bound per execution of a {@link SqlTemplate}; `sample` has the kind of value it takes. */
  | { readonly kind: 'slot'; readonly index: number; readonly sample: SqlValue };

const IDENT_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * An identifier, possibly qualified (`table.column`). Construct with `ident()`. It is its own fragment
 * node, quoted once (every dialect quotes with `"`), so interpolating one allocates nothing.
 */
export class Identifier {
  readonly kind = 'ident' as const;
  readonly names: readonly string[];
  readonly quoted: string;
  constructor(names: readonly string[]) {
    for (const n of names) {
      if (!IDENT_RE.test(n) || n.length > 255) throw new Error(`unsafe SQL identifier: ${JSON.stringify(n)}`);
    }
    this.names = Object.freeze([...names]);
    this.quoted = this.names.map(quoteIdent).join('.');
  }
}

/** An immutable SQL fragment. */
export class Sql {
  readonly nodes: readonly SqlNode[];
  /** Set by {@link SqlTemplate.bind}: the template (whose compiled text is reused) and this run's values. */
  readonly bound: { readonly template: SqlTemplate; readonly values: readonly SqlValue[] } | undefined;
  constructor(nodes: readonly SqlNode[], bound?: Sql['bound']) {
    this.nodes = nodes;
    this.bound = bound;
  }
  /** True when the fragment has no nodes (or only empty text). */
  get isEmpty(): boolean {
    return this.nodes.every((n) => n.kind === 'text' && n.text === '');
  }
}

export type SqlArg = Sql | Identifier | SqlValue;

function pushArg(nodes: SqlNode[], arg: SqlArg): void {
  if (arg instanceof Sql) {
    const values = arg.bound?.values;
    for (const n of arg.nodes) nodes.push(values && n.kind === 'slot' ? { kind: 'param', value: slotValue(values, n.index) } : n);
  } else if (arg instanceof Identifier) nodes.push(arg);
  else if (arg === undefined) throw new Error('undefined interpolated into SQL');
  else nodes.push({ kind: 'param', value: arg });
}

/** Tagged template: constant text from source code, values bound as parameters. */
export function sql(strings: TemplateStringsArray, ...args: SqlArg[]): Sql {
  const nodes: SqlNode[] = [];
  strings.forEach((s, i) => {
    if (s !== '') nodes.push({ kind: 'text', text: s });
    if (i < args.length) pushArg(nodes, args[i] as SqlArg);
  });
  return new Sql(nodes);
}

const identCache = new Map<string, Identifier>();
const qualifiedCache = new Map<string, Map<string, Identifier>>();

/** A checked identifier. Pass several parts for a qualified name: `ident('t', 'col')` → `"t"."col"`. */
export function ident(...names: string[]): Identifier {
  // Identifiers are immutable and names come from the schema, so checked ones are reused (bounded).
  // `table.column`, the common qualified case, is looked up without building a key string.
  if (names.length === 2) {
    const [table, column] = names as [string, string];
    let byColumn = qualifiedCache.get(table);
    if (!byColumn) {
      if (qualifiedCache.size > 1_000) qualifiedCache.clear();
      qualifiedCache.set(table, (byColumn = new Map()));
    }
    let id = byColumn.get(column);
    if (!id) {
      id = new Identifier(names);
      if (byColumn.size > 10_000) byColumn.clear();
      byColumn.set(column, id);
    }
    return id;
  }
  const key = names.length === 1 ? (names[0] as string) : names.join('\u0000');
  let id = identCache.get(key);
  if (!id) {
    id = new Identifier(names);
    if (identCache.size > 10_000) identCache.clear();
    identCache.set(key, id);
  }
  return id;
}

/** Whether a name may be used as an SQL identifier at all (the schema check comes first, always). */
export function isSafeIdentifier(name: string): boolean {
  return IDENT_RE.test(name) && name.length <= 255;
}

/** Joins fragments with a constant separator written in source (default `, `). */
export function join(parts: readonly SqlArg[], separator: Sql = sql`, `): Sql {
  const nodes: SqlNode[] = [];
  parts.forEach((p, i) => {
    if (i > 0) nodes.push(...separator.nodes);
    pushArg(nodes, p);
  });
  return new Sql(nodes);
}

/**
 * A statement run over and over with different values (the by-id reads behind every view and every
 * authenticated request): built once with numbered {@link slot}s, compiled once per dialect, then
 * {@link bind}-ed per run, so a hot read neither rebuilds nor recompiles its text.
 *
 * @example
 *   const byId = new SqlTemplate(sql`SELECT * FROM ${ident(name)} WHERE ${ident('id')} = ${slot(0, '')}`);
 *   await exec.get(byId.bind(id));
 */
export class SqlTemplate {
  /** Compiled text and parameter plan per placeholder style (one per dialect); filled by db/compile.ts. */
  readonly compiled = new Map<object, { text: string; plan: ReadonlyArray<{ value: SqlValue } | { slot: number }> }>();
  constructor(readonly query: Sql) {}
  bind(...values: SqlValue[]): Sql {
    return new Sql(this.query.nodes, { template: this, values });
  }
}

/** The value bound to slot `index`; a missing one is a programming error, never a silent NULL. */
export function slotValue(values: readonly SqlValue[], index: number): SqlValue {
  const value = values[index];
  if (value === undefined) throw new Error(`SQL slot ${index} has no value`);
  return value;
}

/** Slot `index` of a {@link SqlTemplate}, taking values of the kind of `sample` (PostgreSQL types text slots). */
export function slot(index: number, sample: SqlValue): Sql {
  return new Sql([{ kind: 'slot', index, sample }]);
}

/** A single bound value as a fragment (handy where a template would be noisy). */
export function param(value: SqlValue): Sql {
  return new Sql([{ kind: 'param', value }]);
}

export const EMPTY: Sql = new Sql([]);

/** A compiled statement ready for a driver. */
export interface CompiledQuery {
  readonly text: string;
  readonly params: readonly unknown[];
}
