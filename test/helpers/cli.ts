/**
 * Running the real `plinth` command in a test: the built bin/plinth.js in a child Node process, and a free
 * loopback port to give `serve`.
 */
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { resolve } from 'node:path';

/** This checkout's command (run from the repository root, as the test runner does). */
export const BIN = resolve('bin/plinth.js');

/** Runs `plinth ARGS…` to completion (in `env`, default this process's): exit code and output. */
export function plinth(args: string[], timeoutMs = 60_000, env: NodeJS.ProcessEnv = process.env): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: timeoutMs, env });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** A loopback port that was free a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((res) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => res(port));
    });
  });
}
