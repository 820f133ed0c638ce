/**
 * Dashboard UI extensions, PocketBase's `/_/extensions.js` and `/_/extensions/{name}/{path...}`
 * (apis/extensions.go). PocketBase takes them from Go code; Plinth from a folder, `plinth_extensions/`
 * beside the data dir (ServerOptions.extensionsDir): each sub-folder named `[A-Za-z0-9_-]+` is one
 * extension. `/_/extensions.js` is every extension's `main.js`, in name order, each wrapped in
 * `(function(){ … })();` as PocketBase wraps them, read on every request (edits show without a
 * restart); with none it is an empty script, still `text/javascript`. An extension's other files are
 * served under `/_/extensions/{name}/` with the dashboard's CSP. The dashboard's index.html loads the
 * script before the app starts.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ADMIN_CSP } from './admin.js';
import { lookup, safeSegments, sendFile } from '../static-files.js';

const NAME = /^[A-Za-z0-9_-]{1,100}$/;
const NOT_FOUND = { data: {}, message: "The requested resource wasn't found.", status: 404 };

export async function extensionNames(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    return entries
      .filter((e) => e.isDirectory() && NAME.test(e.name))
      .map((e) => e.name)
      .sort();
  } catch {
    return [];
  }
}

export function registerUiExtensions(server: FastifyInstance, options: { dir: string }): void {
  const root = options.dir;

  server.get('/_/extensions.js', async (_req, reply) => {
    let out = '';
    for (const name of await extensionNames(root)) {
      const main = await lookup(join(root, name), ['main.js']);
      if (main?.kind !== 'file') continue;
      const code = await readFile(main.path, 'utf8').catch(() => null);
      if (code !== null) out += `(function(){${code}\n})();`;
    }
    return reply.headers({ 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-cache', 'content-security-policy': ADMIN_CSP }).send(out);
  });

  const notFound = (reply: FastifyReply) => reply.code(404).type('application/json; charset=utf-8').send(NOT_FOUND);
  server.route({
    method: ['GET', 'HEAD'],
    url: '/_/extensions/*',
    handler: async (req: FastifyRequest, reply: FastifyReply) => {
      const rawPath = (req.url.split('?')[0] ?? '').slice('/_/extensions/'.length);
      const segments = safeSegments(rawPath);
      const name = segments?.[0];
      if (!segments || !name || !NAME.test(name) || segments.length < 2) return notFound(reply);
      const found = await lookup(join(root, name), segments.slice(1));
      if (found?.kind !== 'file') return notFound(reply);
      return sendFile(req, reply, found, { 'content-security-policy': ADMIN_CSP, 'cache-control': 'no-cache' });
    },
  });
}
