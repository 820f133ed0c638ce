// Autocomplete words for the filter/rule editor, from the schema: fields (and relation paths),
// @request.*, @collection.*, back-relations, date macros, modifiers and functions.
import type { Collection } from './schema';

export interface Word {
  label: string;
  type: 'property' | 'variable' | 'function' | 'keyword' | 'constant';
  detail?: string;
}

export const MACROS = [
  '@now',
  '@second',
  '@minute',
  '@hour',
  '@weekday',
  '@day',
  '@month',
  '@year',
  '@yesterday',
  '@tomorrow',
  '@todayStart',
  '@todayEnd',
  '@monthStart',
  '@monthEnd',
  '@yearStart',
  '@yearEnd',
];

function fieldPaths(c: Collection, all: Collection[], prefix: string, depth: number, out: Word[]): void {
  for (const f of c.fields) {
    const path = prefix + f.name;
    out.push({ label: path, type: 'property', detail: f.type });
    if (f.type === 'relation' || f.type === 'select' || f.type === 'file') {
      out.push({ label: `${path}:length`, type: 'property', detail: 'count' }, { label: `${path}:each`, type: 'property', detail: 'each item' });
    }
    if (f.type === 'text' || f.type === 'email' || f.type === 'editor' || f.type === 'url')
      out.push({ label: `${path}:lower`, type: 'property', detail: 'lower-cased' });
    if (f.type === 'relation' && depth > 0) {
      const target = all.find((o) => o.id === f.collectionId);
      if (target) fieldPaths(target, all, `${path}.`, depth - 1, out);
    }
  }
}

export function completionWords(collection: Collection, all: Collection[], kind: 'rule' | 'filter'): Word[] {
  const out: Word[] = [];
  fieldPaths(collection, all, '', 1, out);
  // Back-relations: other collections' relation fields pointing here.
  for (const other of all) {
    for (const f of other.fields) {
      if (f.type === 'relation' && f.collectionId === collection.id && collection.id) {
        const via = `${other.name}_via_${f.name}`;
        out.push({ label: via, type: 'property', detail: 'back-relation' });
        for (const of of other.fields) out.push({ label: `${via}.${of.name}`, type: 'property', detail: of.type });
      }
    }
  }
  out.push(
    { label: '@request.auth.id', type: 'variable', detail: 'caller id ("" for guests)' },
    { label: '@request.auth.collectionId', type: 'variable' },
    { label: '@request.auth.collectionName', type: 'variable' },
    { label: '@request.method', type: 'variable' },
    { label: '@request.context', type: 'variable', detail: 'default, oauth2, otp, password, realtime, protectedFile' },
    { label: '@request.query.', type: 'variable', detail: 'a query parameter' },
    { label: '@request.headers.', type: 'variable', detail: 'a header (snake_case)' },
  );
  const authNames = new Set<string>();
  for (const c of all) if (c.type === 'auth') for (const f of c.fields) authNames.add(f.name);
  for (const name of authNames) if (!['id', 'password', 'tokenKey'].includes(name)) out.push({ label: `@request.auth.${name}`, type: 'variable' });
  if (kind === 'rule') {
    for (const f of collection.fields) {
      const p = `@request.body.${f.name}`;
      out.push(
        { label: p, type: 'variable', detail: 'submitted value' },
        { label: `${p}:isset`, type: 'variable' },
        { label: `${p}:changed`, type: 'variable' },
      );
      if (f.type === 'relation' || f.type === 'select' || f.type === 'file') out.push({ label: `${p}:length`, type: 'variable' });
    }
  }
  for (const c of all) {
    out.push({ label: `@collection.${c.name}.`, type: 'variable', detail: 'join another collection' });
    for (const f of c.fields) out.push({ label: `@collection.${c.name}.${f.name}`, type: 'variable', detail: f.type });
  }
  for (const m of MACROS) out.push({ label: m, type: 'constant', detail: 'date macro' });
  out.push(
    { label: 'geoDistance(', type: 'function', detail: 'lonA, latA, lonB, latB → km' },
    { label: 'strftime(', type: 'function', detail: 'format, time' },
    { label: 'true', type: 'keyword' },
    { label: 'false', type: 'keyword' },
    { label: 'null', type: 'keyword' },
  );
  return out;
}
