/**
 * Serves the built admin UI (`dist/admin`, produced by `npm run build`) at `/_/`.
 *
 * - `/_` redirects to `/_/`; any path under `/_/` that is not a file gets `index.html` (SPA fallback,
 *   though the UI routes with the URL hash anyway); a missing file under `/_/assets/` is a 404.
 * - Caching: hashed files under `assets/` are immutable for a year; everything else is `no-cache`
 *   (revalidated with an ETag), so a new build is picked up at once.
 * - A strict Content-Security-Policy: only this origin, no inline scripts, no outside hosts.
 * - Text files are gzip-compressed once and kept in memory (the UI is a few hundred KiB).
 */
import { readFileSync, statSync } from 'node:fs';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** Where `npm run build` puts the UI: dist/admin, seen from dist/src/http/routes/admin.js. */
export const DEFAULT_ADMIN_DIR = fileURLToPath(new URL('../../../admin/', import.meta.url));

export const ADMIN_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "media-src 'self' blob:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'self'",
].join('; ');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};
const COMPRESSIBLE = new Set(['.html', '.js', '.mjs', '.css', '.json', '.svg', '.txt', '.map']);

interface CachedFile {
  mtimeMs: number;
  body: Buffer;
  gzip: Buffer | null;
  etag: string;
}

export interface AdminRouteOptions {
  /** The built UI's folder (default: dist/admin). */
  dir?: string;
}

export function registerAdminRoutes(server: FastifyInstance, options: AdminRouteOptions = {}): void {
  const root = normalize(options.dir ?? DEFAULT_ADMIN_DIR);
  const cache = new Map<string, CachedFile>();

  const load = (path: string): CachedFile | null => {
    let st;
    try {
      st = statSync(path);
    } catch {
      return null;
    }
    if (!st.isFile()) return null;
    const hit = cache.get(path);
    if (hit && hit.mtimeMs === st.mtimeMs) return hit;
    const body = readFileSync(path);
    const gzip = COMPRESSIBLE.has(extname(path)) && body.length > 1024 ? gzipSync(body) : null;
    const file = { mtimeMs: st.mtimeMs, body, gzip, etag: `"${st.size.toString(36)}-${Math.floor(st.mtimeMs).toString(36)}"` };
    if (cache.size > 200) cache.clear();
    cache.set(path, file);
    return file;
  };

  const send = (req: FastifyRequest, reply: FastifyReply, path: string, file: CachedFile, immutable: boolean) => {
    const ext = extname(path);
    void reply.header('Content-Type', TYPES[ext] ?? 'application/octet-stream');
    void reply.header('Cache-Control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
    void reply.header('Content-Security-Policy', ADMIN_CSP);
    void reply.header('Referrer-Policy', 'same-origin');
    void reply.header('ETag', file.etag);
    void reply.header('Vary', 'Accept-Encoding');
    if (req.headers['if-none-match'] === file.etag) return reply.code(304).send();
    const gzipOk = file.gzip && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    if (gzipOk) void reply.header('Content-Encoding', 'gzip');
    return reply.send(gzipOk ? file.gzip : file.body);
  };

  const handler = async (req: FastifyRequest, reply: FastifyReply) => {
    let rel = (req.params as Record<string, string | undefined>)['*'] ?? '';
    try {
      rel = decodeURIComponent(rel.split('?')[0] ?? '');
    } catch {
      return reply.code(400).type('text/plain').send('Bad path.');
    }
    const target = normalize(join(root, rel));
    const inside = target === root || target.startsWith(root.endsWith(sep) ? root : root + sep);
    const file = inside && rel !== '' && !rel.includes('\0') ? load(target) : null;
    if (file) return send(req, reply, target, file, rel.startsWith('assets/'));
    if (rel.startsWith('assets/')) return reply.code(404).type('text/plain').send('Not found.');
    const indexPath = join(root, 'index.html');
    const index = load(indexPath);
    if (!index) {
      return reply.code(404).type('text/plain; charset=utf-8').send('The admin UI is not built. Run "npm run build" (or "npm start", which builds first).');
    }
    return send(req, reply, indexPath, index, false);
  };

  // The router ignores trailing slashes, so this route also answers `/_`, which is sent to `/_/`.
  server.get('/_/', async (req, reply) => (req.url.split('?')[0] === '/_' ? reply.redirect('/_/', 301) : handler(req, reply)));
  server.get('/_/*', handler);
}
