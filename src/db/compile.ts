/**
 * Fragment → statement text, shared by the dialects: text nodes verbatim, identifiers double-quoted
 * (both SQLite and PostgreSQL use `"`), parameters as the dialect's placeholder.
 */
import { slotValue, type CompiledQuery, type Sql, type SqlTemplate, type SqlValue } from './sql.js';

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
  if (query.bound) return compileBound(query.bound.template, query.bound.values, style);
  let text = '';
  const params: unknown[] = [];
  for (const node of query.nodes) {
    if (node.kind === 'text') text += node.text;
    else if (node.kind === 'param') {
      params.push(style.toDriverValue(node.value));
      text += style.placeholder(node.value, params.length);
    } else if (node.kind === 'ident') text += node.quoted;
    else throw new Error('SQL slot used outside SqlTemplate.bind');
  }
  return { text, params };
}

/** A bound template: its text is compiled on first use per style (dialect) and reused from then on. */
function compileBound(template: SqlTemplate, values: readonly SqlValue[], style: PlaceholderStyle): CompiledQuery {
  let compiled = template.compiled.get(style);
  if (!compiled) {
    let text = '';
    const plan: Array<{ value: SqlValue } | { slot: number }> = [];
    for (const node of template.query.nodes) {
      if (node.kind === 'text') text += node.text;
      else if (node.kind === 'ident') text += node.quoted;
      else {
        plan.push(node.kind === 'param' ? { value: node.value } : { slot: node.index });
        text += style.placeholder(node.kind === 'param' ? node.value : node.sample, plan.length);
      }
    }
    compiled = { text, plan };
    template.compiled.set(style, compiled);
  }
  const params = compiled.plan.map((p) => style.toDriverValue('value' in p ? p.value : slotValue(values, p.slot)));
  return { text: compiled.text, params };
}
