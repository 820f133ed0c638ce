/**
 * The SQL console's shared parts (POST /api/sql): the result shape PocketBase answers with, PocketBase's
 * loose write detection, and a statement splitter that knows quotes and comments. The dialects run the
 * statements (db/dialects/<name>/), so only they touch a driver.
 */

/** PocketBase's `runSQLResultColumn`: the declared type ('' for expressions) and whether NULL may appear. */
export interface ConsoleColumn {
  name: string;
  type: string;
  nullable: boolean;
}

/** PocketBase's `runSQLResult`; every value is text or null (PocketBase scans each one into a *string). */
export interface ConsoleResult {
  execTime: number;
  affectedRows: number;
  columns: ConsoleColumn[];
  rows: (string | null)[][];
}

export interface ConsoleOptions {
  /** Run a possible write (PocketBase's prefix check) on the writer, in one transaction. False: read-only. */
  write: boolean;
  /** Give up after this long (ms): the answer is a 400 and the work is stopped (see docs/sql-console.md). */
  timeoutMs: number;
  /** At most this many rows are returned (PocketBase: 1000). */
  maxRows: number;
}

/** Raised for a timeout; the route answers it like any database error (400 with the message). */
export class ConsoleTimeout extends Error {
  constructor(ms: number) {
    super(`the query did not finish within ${Math.round(ms / 100) / 10}s (the SQL console's time limit)`);
    this.name = 'ConsoleTimeout';
  }
}

const WRITE_PREFIXES = ['INSERT', 'CREATE', 'UPDATE', 'DELETE', 'DROP', 'DETACH'];

/** PocketBase's check: not starting with SELECT, and starting with one of its known write keywords. */
export function isPossibleWrite(query: string): boolean {
  const uc = query.trim().toUpperCase();
  if (uc.startsWith('SELECT')) return false;
  return WRITE_PREFIXES.some((p) => uc.startsWith(p));
}

/**
 * Splits a script into statements at top-level semicolons, skipping quoted text ('…', "…", `…`, and
 * […] on SQLite; E'…' and $tag$…$tag$ on PostgreSQL) and comments. Empty statements are dropped.
 */
export function splitStatements(script: string, dialect: 'sqlite' | 'postgres'): string[] {
  const out: string[] = [];
  let start = 0;
  let i = 0;
  const n = script.length;
  const push = (end: number) => {
    const s = script.slice(start, end).trim();
    if (s !== '' && !/^(?:(?:--[^\n]*(?:\n|$))|(?:\/\*[\s\S]*?\*\/)|\s)*$/.test(s)) out.push(s);
  };
  while (i < n) {
    const c = script[i] as string;
    if (c === ';') {
      push(i);
      start = ++i;
    } else if (c === '-' && script[i + 1] === '-') {
      const nl = script.indexOf('\n', i);
      i = nl === -1 ? n : nl + 1;
    } else if (c === '/' && script[i + 1] === '*') {
      const end = script.indexOf('*/', i + 2);
      i = end === -1 ? n : end + 2;
    } else if (c === "'" || c === '"' || c === '`' || (c === '[' && dialect === 'sqlite')) {
      const close = c === '[' ? ']' : c;
      const backslash = c === "'" && dialect === 'postgres' && /[eE]/.test(script[i - 1] ?? '') && !/\w/.test(script[i - 2] ?? '');
      i++;
      while (i < n) {
        const d = script[i] as string;
        if (backslash && d === '\\') i += 2;
        else if (d === close) {
          if (close !== ']' && script[i + 1] === close)
            i += 2; // doubled quote
          else break;
        } else i++;
      }
      i++;
    } else if (c === '$' && dialect === 'postgres') {
      const m = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(script.slice(i, i + 70));
      if (m && !/\w/.test(script[i - 1] ?? '')) {
        const end = script.indexOf(m[0], i + m[0].length);
        i = end === -1 ? n : end + m[0].length;
      } else i++;
    } else i++;
  }
  push(n);
  return out;
}

/** First keyword of a statement, upper-cased (after comments and an opening parenthesis). */
export function leadingKeyword(statement: string): string {
  const s = statement.replace(/^(?:\s|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/|\()*/, '');
  return (/^[A-Za-z]+/.exec(s)?.[0] ?? '').toUpperCase();
}

/** A driver value as PocketBase prints it: text, or null. Blobs as (lossy) UTF-8 text, as Go's string(bytes). */
export function consoleText(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  return String(value);
}
