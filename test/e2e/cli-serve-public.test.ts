/**
 * `plinth serve`'s flags for issue 15's endpoints, as a user runs them: --publicDir and
 * --indexFallback=false (the front end at /), --sqlWrite (the SQL console may write), and
 * `plinth import-pocketbase --help`.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import PocketBase from 'pocketbase';
import { BIN, freePort, plinth } from '../helpers/cli.js';

describe('plinth serve --publicDir --indexFallback --sqlWrite', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'plinth-cli-public-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the chosen folder without the SPA fallback and lets the console write', async () => {
    const dataDir = join(dir, 'data');
    const site = join(dir, 'site');
    mkdirSync(site);
    writeFileSync(join(site, 'index.html'), '<h1>site</h1>');
    assert.equal(plinth(['superuser', 'upsert', 'ops@example.com', 'password-123', `--dir=${dataDir}`]).code, 0);
    const port = await freePort();
    const child = spawn(
      process.execPath,
      [BIN, 'serve', `--http=127.0.0.1:${port}`, `--dir=${dataDir}`, `--publicDir=${site}`, '--indexFallback=false', '--sqlWrite'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.on('data', (b) => (output += b));
    const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    try {
      const deadline = Date.now() + 15_000;
      while (!output.includes('Server started') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const base = `http://127.0.0.1:${port}`;
      assert.equal(await (await fetch(`${base}/`)).text(), '<h1>site</h1>');
      assert.equal((await fetch(`${base}/some/route`)).status, 404);
      const pb = new PocketBase(base);
      await pb.collection('_superusers').authWithPassword('ops@example.com', 'password-123');
      const res = await fetch(`${base}/api/sql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: pb.authStore.token },
        body: JSON.stringify({ query: 'create table from_cli(id int)' }),
      });
      assert.equal(res.status, 200, await res.clone().text());
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0);
  });

  it('refuses bad values and documents the flags', () => {
    assert.notEqual(plinth(['serve', '--indexFallback=maybe', `--dir=${dir}/x`]).code, 0);
    assert.notEqual(plinth(['serve', '--sqlTimeout=-1', `--dir=${dir}/x`]).code, 0);
    assert.match(plinth(['serve', '--help']).out, /--publicDir[\s\S]*--indexFallback[\s\S]*--sqlWrite/);
    const help = plinth(['import-pocketbase', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.out, /--from/);
    assert.match(plinth(['--help']).out, /import-pocketbase/);
  });
});
