/**
 * Static files from a folder on disk, for the front end (`plinth_public/`, routes/public-files.ts) and
 * the dashboard's UI extensions (routes/ui-extensions.ts). Small and strict:
 * - the URL path is checked before anything touches the disk: no `..` segment, no backslash, no NUL,
 *   no dot-file (except `.well-known/`), also when percent-encoded; the resolved real path (symlinks
 *   followed) must stay inside the folder. Anything else is a 404, never a read;
 * - content types by extension (unknown: application/octet-stream; the server's `nosniff` applies);
 * - ETag + Last-Modified with 304 answers, single `Range` (206/416, files/range.ts), HEAD;
 * - Cache-Control: HTML and anything not fingerprinted `no-cache` (revalidated each time, cheap with the
 *   ETag); fingerprinted names (`app-3f9a1c2b.js`, `index-B1x2Y3z4.js`: see isFingerprinted)
 *   `public, max-age=31536000, immutable`.
 */
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { extname, join, sep } from 'node:path';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { decideRange } from '../files/range.js';

export const STATIC_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.htm': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
  '.csv': 'text/csv; charset=utf-8',
  '.xml': 'application/xml; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.avif': 'image/avif',
  '.ico': 'image/x-icon',
  '.bmp': 'image/bmp',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.otf': 'font/otf',
  '.wasm': 'application/wasm',
  '.pdf': 'application/pdf',
  '.zip': 'application/zip',
  '.mp4': 'video/mp4',
  '.webm': 'video/webm',
  '.mp3': 'audio/mpeg',
  '.wav': 'audio/wav',
  '.ogg': 'audio/ogg',
};

/** The last `-`/`.` separated part before the extension: where build tools put a content hash. */
const HASH_PART = /[.-]([A-Za-z0-9_]{8,})\.[A-Za-z0-9]+$/;

/**
 * Whether a name carries a content hash. Conservative (a miss only costs a revalidation, a false hit
 * would serve stale code): 8+ hex digits with a digit (webpack, `main.4e5d6f7a.js`), or 8+ characters
 * mixing upper case, lower case and digits (Vite/Rollup/esbuild, `index-B1x2Y3z4.js`).
 */
function isFingerprinted(base: string): boolean {
  const part = HASH_PART.exec(base)?.[1];
  if (!part) return false;
  if (/^[0-9a-f]+$/.test(part) && /\d/.test(part)) return true;
  return /[A-Z]/.test(part) && /[a-z]/.test(part) && /\d/.test(part);
}

export function contentTypeOf(path: string): string {
  return STATIC_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream';
}

export function cacheControlOf(path: string): string {
  const ext = extname(path).toLowerCase();
  if (ext === '.html' || ext === '.htm') return 'no-cache';
  const base = path.slice(path.lastIndexOf(sep) + 1);
  return isFingerprinted(base) ? 'public, max-age=31536000, immutable' : 'no-cache';
}

/**
 * A URL path (still percent-encoded, without the query) → safe segments, or null when it must not be
 * looked up at all.
 */
export function safeSegments(rawPath: string): string[] | null {
  if (rawPath.length > 2048 || rawPath.includes('\\') || /%(?:5c|00)/i.test(rawPath)) return null;
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    return null;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return null;
  const segments = decoded.split('/').filter((s) => s !== '');
  for (const [i, s] of segments.entries()) {
    if (s === '.' || s === '..') return null;
    if (s.startsWith('.') && !(i === 0 && s === '.well-known')) return null;
  }
  return segments;
}

export type Found = { kind: 'file'; path: string; size: number; mtimeMs: number } | { kind: 'dir'; path: string } | null;

const inside = (path: string, dir: string) => path === dir || path.startsWith(dir.endsWith(sep) ? dir : dir + sep);

/**
 * Looks a path up inside `root` (symlinks followed only when they stay inside), never inside one of the
 * `exclude` folders.
 */
export async function lookup(root: string, segments: readonly string[], exclude: readonly string[] = []): Promise<Found> {
  let realRoot: string;
  let real: string;
  try {
    realRoot = await realpath(root);
    real = await realpath(join(realRoot, ...segments));
  } catch {
    return null;
  }
  if (!inside(real, realRoot)) return null;
  for (const dir of exclude) {
    const realDir = await realpath(dir).catch(() => null);
    if (realDir && !inside(realRoot, realDir) && inside(real, realDir)) return null;
  }
  try {
    const st = await stat(real);
    if (st.isDirectory()) return { kind: 'dir', path: real };
    if (st.isFile()) return { kind: 'file', path: real, size: st.size, mtimeMs: st.mtimeMs };
  } catch {
    // vanished meanwhile
  }
  return null;
}

/** Sends a found file: validators, 304, Range, HEAD. */
export function sendFile(
  req: FastifyRequest,
  reply: FastifyReply,
  file: { path: string; size: number; mtimeMs: number },
  headers: Record<string, string> = {},
) {
  const etag = `"${file.size.toString(36)}-${Math.floor(file.mtimeMs).toString(36)}"`;
  const lastModified = new Date(Math.floor(file.mtimeMs / 1000) * 1000).toUTCString();
  void reply.headers({
    'content-type': contentTypeOf(file.path),
    'cache-control': cacheControlOf(file.path),
    etag,
    'last-modified': lastModified,
    'accept-ranges': 'bytes',
    ...headers,
  });
  const inm = req.headers['if-none-match'];
  if (typeof inm === 'string') {
    if (inm.split(',').some((t) => t.trim().replace(/^W\//, '') === etag || t.trim() === '*')) return reply.code(304).send();
  } else {
    const ims = req.headers['if-modified-since'];
    const since = typeof ims === 'string' ? Date.parse(ims) : NaN;
    if (!Number.isNaN(since) && Math.floor(file.mtimeMs / 1000) * 1000 <= since) return reply.code(304).send();
  }
  const ifRange = req.headers['if-range'];
  const rangeStillValid = typeof ifRange !== 'string' || ifRange === etag || ifRange === lastModified;
  const decision = decideRange(req.headers.range, file.size, rangeStillValid ? undefined : ifRange);
  if (decision.kind === 'unsatisfiable') {
    return reply.code(416).header('content-range', `bytes */${file.size}`).type('text/plain; charset=utf-8').send('Range Not Satisfiable');
  }
  const range = decision.kind === 'partial' ? decision.range : null;
  const length = range ? range.end - range.start + 1 : file.size;
  if (range) void reply.code(206).header('content-range', `bytes ${range.start}-${range.end}/${file.size}`);
  void reply.header('content-length', String(length));
  if (req.method === 'HEAD' || length === 0) return reply.send(req.method === 'HEAD' ? undefined : '');
  return reply.send(createReadStream(file.path, range ? { start: range.start, end: range.end } : {}));
}
