/**
 * Hooks through the `plinth` command as a user runs it: `serve --hooksDir` (hooks loaded, a syntax error
 * stops the start with one line and exit 1, an unhandled rejection in hook code is logged and the server
 * keeps serving, onTerminate on SIGTERM) and `plinth hooks check` (tsc over the hook files, `plinth`
 * types resolving).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFiles } from '../helpers/hooks.js';
import { BIN, freePort, plinth } from '../helpers/cli.js';

describe('plinth serve --hooksDir and plinth hooks check', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'plinth-hooks-cli-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('a hook file with a syntax error stops serve: exit 1, one line with file:line', () => {
    const hooks = join(dir, 'bad-hooks');
    writeFiles(hooks, { 'main.ts': 'export default (app: any) => {\n  app.onServe((e: any) => e.next())\n  if (\n};\n' });
    const r = plinth(['serve', `--dir=${join(dir, 'd1')}`, `--hooksDir=${hooks}`, '--http=127.0.0.1:1']);
    assert.equal(r.code, 1, r.err);
    const lines = r.err.trim().split('\n');
    assert.equal(lines.length, 1, r.err);
    assert.match(lines[0]!, /^Error: Hook file failed to load: main\.ts:4:1: /);
  });

  it('serves with hooks; an unhandled rejection in hook code is logged and the server keeps serving; SIGTERM runs onTerminate', async () => {
    const hooks = join(dir, 'hooks');
    const marker = join(dir, 'terminated.txt');
    writeFiles(hooks, {
      'main.ts': `
import { writeFileSync } from 'node:fs';
import { defineHooks } from 'plinth';
export default defineHooks((app) => {
  app.onServe(async (e) => {
    // Not awaited, never caught: Node would exit on this by default.
    void Promise.reject(new Error('forgotten rejection'));
    app.logger.info({ address: e.address }, 'custom serve hook ran');
    await e.next();
  });
  app.onTerminate(async (e) => { writeFileSync(${JSON.stringify(marker)}, String(e.signal)); await e.next(); });
});
`,
    });
    const port = await freePort();
    const child: ChildProcess = spawn(process.execPath, [BIN, 'serve', `--dir=${join(dir, 'd2')}`, `--hooksDir=${hooks}`, `--http=127.0.0.1:${port}`], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      const end = Date.now() + 20_000;
      while (!out.includes('forgotten rejection')) {
        if (Date.now() > end) throw new Error(`no rejection logged:\n${out}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.match(out, /custom serve hook ran/);
      assert.match(out, /unhandled promise rejection/);
      const health = await fetch(`http://127.0.0.1:${port}/api/health`);
      assert.equal(health.status, 200, 'still serving');
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0);
    assert.equal(existsSync(marker), true, 'onTerminate ran');
  });

  it('hooks check: clean files pass, type errors are listed with file(line,col) and exit 1', () => {
    const hooks = join(dir, 'typed');
    writeFiles(hooks, {
      'ok.ts': `import { defineHooks, ApiError } from 'plinth';\nimport { price } from './lib/price';\nexport default defineHooks((app) => {\n  app.onRecordCreate(async (e) => {\n    if (!e.record.title) throw new ApiError(400, 'title ' + price(2));\n    await e.next();\n  }, 'posts');\n});\n`,
      'lib/price.ts': 'export const price = (n: number): string => (n * 100).toFixed(0);\n',
    });
    const clean = plinth(['hooks', 'check', `--hooksDir=${hooks}`]);
    assert.equal(clean.code, 0, clean.out + clean.err);
    assert.match(clean.out, /type-check cleanly/);

    // Type errors, and record types from a typegen-style declaration file typing app.records('posts').
    writeFiles(hooks, {
      'broken.ts': `import { defineHooks } from 'plinth';\nexport default defineHooks((app) => {\n  app.onRecordCreate((e) => e.nope(), 'posts');\n  const n: number = 'text';\n});\n`,
      'plinth-types.d.ts': `import 'plinth';\ndeclare module 'plinth' {\n  interface CollectionRecords { posts: { title: string; views: number } }\n}\n`,
      'typed.ts': `import { defineHooks } from 'plinth';\nexport default defineHooks((app) => {\n  app.onServe(async (e) => {\n    const p = await app.records('posts').asSystem().find('x');\n    const title: string = p.title;\n    const views: string = p.views;\n    void title; void views;\n    await e.next();\n  });\n});\n`,
    });
    const broken = plinth(['hooks', 'check', `--hooksDir=${hooks}`]);
    assert.equal(broken.code, 1, broken.out + broken.err);
    assert.match(broken.out, /^broken\.ts\(3,\d+\): error TS2339: Property 'nope' does not exist/m);
    assert.match(broken.out, /^broken\.ts\(4,\d+\): error TS2322/m);
    assert.match(broken.out, /^typed\.ts\(6,\d+\): error TS2322: Type 'number' is not assignable to type 'string'/m);
    assert.match(broken.out, /3 type errors in the hook files/);
    assert.doesNotMatch(broken.out, /src\//, "only the hook files' own errors");

    const usage = plinth(['hooks', 'frobnicate']);
    assert.equal(usage.code, 2);
  });
});
