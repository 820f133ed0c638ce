/**
 * Starts a real S3-compatible server for tests: the `s3rver` npm package (a devDependency, so `npm ci`
 * installs it) as a child process on an ephemeral loopback port, with one bucket and data in a temp dir.
 * s3rver accepts the access key `S3RVER` / secret `S3RVER`; it checks SigV4 requests' shape (headers,
 * credential, date skew) but not the signature itself, which sigv4.test.ts checks against AWS's examples.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** A running s3rver. */
export interface S3Server {
  endpoint: string;
  bucket: string;
  accessKey: string;
  secret: string;
  stop(): Promise<void>;
}

/** Starts s3rver with `bucket` created; rejects if it does not come up within 15 s. */
export async function startS3rver(bucket = 'plinth'): Promise<S3Server> {
  const dir = mkdtempSync(join(tmpdir(), 'plinth-s3rver-'));
  const bin = join(dirname(createRequire(import.meta.url).resolve('s3rver/package.json')), 'bin', 's3rver.js');
  const child: ChildProcess = spawn(process.execPath, [bin, '-d', dir, '-a', '127.0.0.1', '-p', '0', '--silent', '--configure-bucket', bucket], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`s3rver did not start: ${out}`)), 15_000);
    const onData = (chunk: Buffer): void => {
      out += chunk.toString();
      const m = /listening on [^:\s]+:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`s3rver exited with ${code}: ${out}`));
    });
  });
  child.removeAllListeners('exit');
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    accessKey: 'S3RVER',
    secret: 'S3RVER',
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
