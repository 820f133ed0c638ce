/**
 * Serves a front end from `plinth_public/` (beside the data dir; `--publicDir`, ServerOptions.publicDir)
 * at `/`, as PocketBase serves `pb_public/`. Registered last, as a catch-all GET: every route of the API
 * and the dashboard wins over it, and paths under `/api/` and `/_/` are never served from the folder (an
 * unknown one is the usual JSON 404). A folder answers its `index.html` (a path without the trailing
 * slash is redirected to it, as PocketBase does); with `indexFallback` (PocketBase's `--indexFallback`,
 * default true) a missing path answers the root `index.html` for single-page apps. No folder, or no file
 * and no fallback: the JSON 404. Path safety, caching and ranges: http/static-files.ts.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { lookup, safeSegments, sendFile } from '../static-files.js';

export interface PublicFilesOptions {
  dir: string;
  /** A missing path answers the root index.html (PocketBase's default: true). */
  indexFallback?: boolean;
  /**
   * Folders never served even when the public dir contains them (the data dir, hooks, migrations):
   * `--publicDir=.` must not hand out data.db.
   */
  exclude?: string[];
}

const NOT_FOUND = { data: {}, message: "The requested resource wasn't found.", status: 404 };

/** The handler serving the public dir (GET and HEAD); http/server.ts routes `/` and every otherwise unmatched GET to it. */
export function publicFilesHandler(options: PublicFilesOptions): (req: FastifyRequest, reply: FastifyReply) => Promise<unknown> {
  const root = options.dir;
  const fallback = options.indexFallback ?? true;
  const exclude = options.exclude ?? [];

  const notFound = (reply: FastifyReply) => reply.code(404).type('application/json; charset=utf-8').send(NOT_FOUND);

  const handler = async (req: FastifyRequest, reply: FastifyReply) => {
    const rawPath = req.url.split('?')[0] ?? '/';
    if (rawPath === '/api' || rawPath.startsWith('/api/') || rawPath === '/_' || rawPath.startsWith('/_/')) return notFound(reply);
    const segments = safeSegments(rawPath);
    if (!segments) return notFound(reply);
    const found = await lookup(root, segments, exclude);
    if (found?.kind === 'dir') {
      if (!rawPath.endsWith('/')) {
        const query = req.url.includes('?') ? req.url.slice(req.url.indexOf('?')) : '';
        // `//host` would leave the site: the path is rebuilt from its safe segments.
        return reply.redirect(`/${segments.map(encodeURIComponent).join('/')}/${query}`, 301);
      }
      const index = await lookup(root, [...segments, 'index.html'], exclude);
      if (index?.kind === 'file') return sendFile(req, reply, index);
    } else if (found?.kind === 'file') {
      return sendFile(req, reply, found);
    }
    if (fallback) {
      const index = await lookup(root, ['index.html'], exclude);
      if (index?.kind === 'file') return sendFile(req, reply, index);
    }
    return notFound(reply);
  };
  return handler;
}
