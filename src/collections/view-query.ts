/**
 * View collections are defined by a SELECT a superuser writes (PocketBase's `viewQuery`). This is the one
 * place Plinth puts SQL text it did not write into a statement, so it is fenced in:
 * - only superusers can define collections;
 * - the text must be a single SELECT (or WITH … SELECT) statement: no `;`; comments (which PocketBase accepts)
 *   are removed first, and only the comment-free text is checked and run;
 * - internal tables (`_params`, `_collections`, `_migrations`, `sqlite_*`, `pg_*`) cannot be named;
 * - it only ever runs as the body of `CREATE VIEW … AS`, which the database itself restricts to a query,
 *   and its columns are checked before the view is saved.
 */
import { AppError, fieldError } from '../errors/index.js';
import { Sql } from '../db/sql.js';

const MAX_VIEW_QUERY_LENGTH = 20_000;
/** Plinth's own bookkeeping tables (secrets, hashes, settings) are never readable through a view. */
const FORBIDDEN_NAMES = /\b(_params|_collections|_migrations|_totp|_apiKeys|_logs|sqlite_\w*|pg_\w*|information_schema)\b/i;

/**
 * The query without its SQL comments (`-- …` to the end of the line, `/* … *\/`), each replaced by a space;
 * quoted strings and identifiers are kept as they are. PocketBase accepts comments in view queries; Plinth
 * checks and runs the comment-free text, so nothing can hide in one. null for an unterminated comment.
 */
export function withoutComments(query: string): string | null {
  let out = '';
  let i = 0;
  const n = query.length;
  while (i < n) {
    const c = query[i]!;
    if (c === "'" || c === '"' || c === '`') {
      let j = i + 1;
      while (j < n && !(query[j] === c && query[j + 1] !== c)) j += query[j] === c ? 2 : 1;
      out += query.slice(i, j + 1);
      i = j + 1;
    } else if (c === '-' && query[i + 1] === '-') {
      const end = query.indexOf('\n', i);
      out += ' ';
      i = end === -1 ? n : end;
    } else if (c === '/' && query[i + 1] === '*') {
      const end = query.indexOf('*/', i + 2);
      if (end === -1) return null;
      out += ' ';
      i = end + 2;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** Returns a reason the query is unacceptable, or null. */
export function checkViewQuery(query: unknown): string | null {
  if (typeof query !== 'string' || query.trim() === '') return 'The view query is required.';
  if (query.length > MAX_VIEW_QUERY_LENGTH) return 'The view query is too long.';
  const uncommented = withoutComments(query);
  if (uncommented === null) return 'The view query has an unterminated comment.';
  if (uncommented.trim() === '') return 'The view query is required.';
  const text = stripStrings(uncommented.trim().replace(/;\s*$/, ''));
  if (!/^(select|with)\b/i.test(text)) return 'The view query must be a SELECT statement.';
  if (text.includes(';')) return 'The view query must be a single statement.';
  if (text.includes('--') || text.includes('/*')) return 'Comments are not allowed in the view query.';
  if (FORBIDDEN_NAMES.test(text)) return 'The view query cannot read internal tables.';
  if (/\b(insert|update|delete|drop|alter|create|attach|detach|pragma|vacuum|reindex)\b/i.test(text)) {
    return 'The view query must only read data.';
  }
  return null;
}

/** The checked query as a fragment for `CREATE VIEW … AS`. Throws a 400 if the query fails the checks. */
export function viewQuerySql(query: string): Sql {
  const problem = checkViewQuery(query);
  if (problem) throw AppError.validation('Invalid view query.', { viewQuery: fieldError('validation_invalid_view_query', problem) });
  return new Sql([{ kind: 'text', text: (withoutComments(query) ?? '').trim().replace(/;\s*$/, '') }]);
}

/**
 * Blanks out string literals so keyword checks only see SQL structure. Quoted identifiers are kept (and
 * unquoted), so `"_params"` is still caught by the internal-table check.
 */
function stripStrings(text: string): string {
  return text.replace(/'(?:[^']|'')*'/g, (m) => `'${' '.repeat(Math.max(0, m.length - 2))}'`).replace(/["`[\]]/g, ' ');
}
