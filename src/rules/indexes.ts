/** Reads collection index definitions (raw `CREATE INDEX` text) for what the resolver needs to know. */

const UNIQUE_INDEX_RE = /^\s*CREATE\s+UNIQUE\s+INDEX\s+(?:IF\s+NOT\s+EXISTS\s+)?\S+\s+ON\s+[^(]+\(([^)]*)\)/i;

function unquote(name: string): string {
  const m = /^(["`[])(.*)(["`\]])$/.exec(name);
  return m ? (m[2] as string) : name;
}

/**
 * Whether `column` alone has a UNIQUE index: then a back-relation through it matches at most one record
 * and is single-valued (as PocketBase's FindSingleColumnUniqueIndex).
 */
export function hasSingleColumnUniqueIndex(indexes: readonly string[], column: string): boolean {
  for (const idx of indexes) {
    const m = UNIQUE_INDEX_RE.exec(idx);
    if (!m) continue;
    const cols = (m[1] as string).split(',');
    if (cols.length !== 1) continue;
    // `"col" COLLATE NOCASE DESC` → `col`
    const first = (cols[0] as string).trim().split(/\s+/)[0] ?? '';
    if (unquote(first) === column) return true;
  }
  return false;
}
