#!/usr/bin/env node
// `plinth serve` plus one custom route, for the bench's `route` op (custom GET route vs the built-in view in
// the same process, same run):
//
//   GET /api/bench/posts/{id}  → app.reader.view(posts, id, <the caller's request info>): the same record JSON,
//                                 the same view rule, as GET /api/collections/posts/records/{id}
//
// Until hook files can be loaded by the CLI, the route is registered programmatically here; otherwise it starts
// exactly as `plinth serve` does (same App config, same server options).
//   node bench/route-server.js --http=HOST:PORT --dir=DIR [--db=URL] [--poolSize=N]
import { join, resolve } from 'node:path';
import { App } from '../dist/src/app.js';
import { buildServer } from '../dist/src/http/server.js';
import { RouteRegistry } from '../dist/src/http/custom-routes.js';
import { createLogger } from '../dist/src/util/logger.js';

const flags = Object.fromEntries(
  process.argv.slice(2).map((a) => {
    const m = /^--([^=]+)(?:=(.*))?$/.exec(a);
    if (!m) throw new Error(`unknown argument: ${a}`);
    return [m[1], m[2] ?? 'true'];
  }),
);
const [host, port] = (flags.http ?? '127.0.0.1:8090').split(/:(?=\d+$)/);
const dataDir = resolve(flags.dir ?? './plinth_data');
const app = await App.open({
  dataDir,
  migrationsDir: join(dataDir, '..', 'plinth_migrations'),
  ...(flags.db ? { databaseUrl: flags.db } : {}),
  ...(flags.poolSize ? { poolSize: Number(flags.poolSize) } : {}),
  logger: createLogger(),
});
const routes = new RouteRegistry();
routes.get('/api/bench/posts/{id}', (c) => app.reader.view(app.collections.require('posts'), c.request.params.id, c.request.info));
const server = await buildServer(app, { routes });
await server.listen({ host, port: Number(port) });
process.stdout.write(`route-server listening on ${host}:${port}\n`);
const shutdown = async () => {
  setTimeout(() => process.exit(1), 10_000).unref();
  await server.close();
  await app.close();
  process.exit(0);
};
process.on('SIGTERM', () => void shutdown());
process.on('SIGINT', () => void shutdown());
