/**
 * `Range` header handling (RFC 9110 §14). One range is served as 206. Choices where the RFC lets the
 * server decide:
 * - several ranges (`bytes=0-1,5-9`) → the whole file as 200: no multipart/byteranges, which also makes
 *   `bytes=0-0,0-0,…` amplification pointless;
 * - a malformed range set (`bytes=5-1`, `bytes=-`, `bytes=x`) → 416, as Go's `http.ServeContent`
 *   (PocketBase) does; a unit other than `bytes`, an `If-Range`, or an absurdly long header → ignored (200).
 */
import type { ByteRange } from './storage.js';

/** What to answer: the whole file, one range, or 416. */
export type RangeDecision = { kind: 'full' } | { kind: 'partial'; range: ByteRange } | { kind: 'unsatisfiable' };

const MAX_HEADER_LENGTH = 1024;
// Up to 15 digits keeps every number a safe integer.
const SPEC_RE = /^(?:(\d{1,15})-(\d{0,15})|-(\d{1,15}))$/;

/**
 * Decides how to answer a request for a file of `size` bytes given its `Range` (and `If-Range`) header.
 * Never throws, whatever the header holds.
 */
export function decideRange(header: string | undefined, size: number, ifRange?: string): RangeDecision {
  if (header === undefined || header === '' || header.length > MAX_HEADER_LENGTH) return { kind: 'full' };
  // We send no validators (ETag/Last-Modified checks), so a conditional range cannot be confirmed:
  // RFC 9110 §13.1.5 says to send the whole representation then.
  if (ifRange !== undefined) return { kind: 'full' };
  const eq = header.indexOf('=');
  if (eq < 0) return { kind: 'unsatisfiable' };
  if (header.slice(0, eq).trim().toLowerCase() !== 'bytes') return { kind: 'full' };
  // The list syntax allows empty elements (`bytes=0-1, ,`); they are skipped.
  const specs = header
    .slice(eq + 1)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (specs.length === 0) return { kind: 'unsatisfiable' };
  const parsed: ByteRange[] = [];
  for (const spec of specs) {
    const m = SPEC_RE.exec(spec);
    if (!m) return { kind: 'unsatisfiable' };
    if (m[3] !== undefined) {
      // Suffix: the last N bytes.
      const n = Number(m[3]);
      if (n === 0) continue; // `-0` selects nothing
      parsed.push({ start: Math.max(0, size - n), end: size - 1 });
      continue;
    }
    const start = Number(m[1]);
    const end = m[2] === '' ? size - 1 : Number(m[2]);
    if (end < start) return { kind: 'unsatisfiable' };
    if (start >= size) continue; // unsatisfiable on its own; others may still be satisfiable
    parsed.push({ start, end: Math.min(end, size - 1) });
  }
  if (parsed.length === 0 || size === 0) return { kind: 'unsatisfiable' };
  if (specs.length > 1) return { kind: 'full' };
  return { kind: 'partial', range: parsed[0] as ByteRange };
}
