/**
 * Fragment → statement text, shared by the dialects: text nodes verbatim, identifiers double-quoted
 * (both SQLite and PostgreSQL use `"`), parameters as the dialect's placeholder.
 */
import type { CompiledQuery, Sql, SqlValue } from './sql.js';

const quoted = new Map<string, string>();

/** `"name"` with embedded quotes doubled; cached, since names come from a small schema. */
export function quoteIdent(name: string): string {
  let q = quoted.get(name);
  if (q === undefined) {
    q = `"${name.replace(/"/g, '""')}"`;
    if (quoted.size > 10_000) quoted.clear();
    quoted.set(name, q);
  }
  return q;
}

export interface PlaceholderStyle {
  /** The placeholder for the parameter at 1-based `position` holding `value`. */
  placeholder(value: SqlValue, position: number): string;
  toDriverValue(value: SqlValue): unknown;
}

export function compileFragment(query: Sql, style: PlaceholderStyle): CompiledQuery {
  let text = '';
  const params: unknown[] = [];
  for (const node of query.nodes) {
    if (node.kind === 'text') text += node.text;
    else if (node.kind === 'param') {
      params.push(style.toDriverValue(node.value));
      text += style.placeholder(node.value, params.length);
    } else text += node.quoted;
  }
  return { text, params };
}
