/**
 * Every code snippet in README.md and docs/*.md runs, so the documentation cannot rot:
 *
 * - ```sh / ```bash blocks run in bash (`set -e`), in a temp folder that is the user's project: `plinth …` and
 *   `npx plinth …` are this checkout's bin/plinth.js;
 * - ```js / ```ts blocks run as ES modules (ts through esbuild) with this checkout's node_modules, after the
 *   blocks before them in the same file, against a real `plinth serve` on that temp folder's ./plinth_data:
 *   `http://127.0.0.1:8090` in a snippet is replaced by that server's address;
 * - a ```ts / ```js block whose first line is `// plinth_hooks/<file>` is a hook file: it is written into the
 *   project's plinth_hooks/ before the server starts, so the server must load it (a load error fails the start).
 *   docs/hooks.md's hook files import npm packages that are not installed here: test/e2e/hooks-docs.test.ts
 *   loads and exercises those with stand-ins, so they are left out here;
 * - blocks whose info string says `no-run` (```sh no-run) are shown, not run: commands that start long-lived
 *   servers, need other hosts, or run the test suite itself, and excerpts of generated output. Other languages
 *   (json, plain text) are not run.
 *
 * A file's blocks share one temp folder and one server, in order (a superuser created by a sh block is the one
 * the next js block signs in with). A snippet that fails, throws or runs longer than a minute fails the test.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { transform } from 'esbuild';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SNIPPET_TIMEOUT_MS = 60_000;

export interface Snippet {
  file: string;
  line: number;
  lang: 'sh' | 'js' | 'ts';
  code: string;
  /** For a hook file (first line `// plinth_hooks/<file>`): its file name. */
  hookFile?: string;
}

const HOOK_FILE = /^\/\/ plinth_hooks\/([\w.-]+\.(?:ts|mts|js|mjs))\n/;

const LANGS: Readonly<Record<string, Snippet['lang']>> = {
  sh: 'sh',
  bash: 'sh',
  shell: 'sh',
  js: 'js',
  javascript: 'js',
  mjs: 'js',
  ts: 'ts',
  typescript: 'ts',
};

/** The runnable fenced blocks of a Markdown text, in order (blocks marked `no-run` and other languages left out). */
export function extractSnippets(markdown: string, file: string): Snippet[] {
  const out: Snippet[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*([^`\s]*)\s*(.*)$/.exec(lines[i] as string);
    if (!open) continue;
    const [, indent, fence, lang, rest] = open as unknown as [string, string, string, string, string];
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length && !(lines[j] as string).trimStart().startsWith(fence); j++) body.push((lines[j] as string).slice(indent.length));
    const kind = LANGS[lang.toLowerCase()];
    const code = body.join('\n');
    const hookFile = kind && kind !== 'sh' ? HOOK_FILE.exec(code)?.[1] : undefined;
    if (hookFile && file === 'docs/hooks.md') {
      // loaded and exercised by test/e2e/hooks-docs.test.ts (with stand-ins for the npm packages they import)
    } else if (kind && !/\bno-run\b/.test(rest)) out.push({ file, line: i + 1, lang: kind, code, ...(hookFile ? { hookFile } : {}) });
    i = j;
  }
  return out;
}

/** A failed snippet's output for the assertion message: minified library lines cut short. */
const shown = (out: string) =>
  out
    .split('\n')
    .map((l) => (l.length > 300 ? `${l.slice(0, 300)}…` : l))
    .join('\n')
    .slice(-4000);

async function freePort(): Promise<number> {
  return new Promise((res) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => res(port));
    });
  });
}

/** Runs one Markdown file's snippets in a fresh project folder; throws on the first failing one. */
export async function runSnippets(snippets: readonly Snippet[]): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'plinth-docs-'));
  const shims = join(dir, '.bin');
  mkdirSync(shims);
  writeFileSync(join(shims, 'plinth'), `#!/bin/sh\nexec "${process.execPath}" "${join(ROOT, 'bin/plinth.js')}" "$@"\n`);
  chmodSync(join(shims, 'plinth'), 0o755);
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${shims}:${process.env.PATH ?? ''}` };
  delete env.PLINTH_DATABASE_URL;
  delete env.NODE_OPTIONS;
  let server: ChildProcess | undefined;
  let url = '';
  const where = (s: Snippet) => `${s.file}:${s.line} (${s.lang})`;
  const ensureServer = async (what: string): Promise<void> => {
    if (server) return;
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    server = spawn(
      process.execPath,
      [join(ROOT, 'bin/plinth.js'), 'serve', `--http=127.0.0.1:${port}`, `--dir=${join(dir, 'plinth_data')}`, '--metrics=true'],
      {
        cwd: dir,
        env,
        stdio: 'ignore',
      },
    );
    for (let i = 0; ; i++) {
      assert.ok(i < 200 && server.exitCode === null, `plinth serve did not start for ${what}`);
      const up = await fetch(`${url}/api/health`).then(
        (r) => r.ok,
        () => false,
      );
      if (up) break;
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const hookFiles = snippets.filter((s) => s.hookFile);
  if (hookFiles.length) {
    mkdirSync(join(dir, 'plinth_hooks'));
    for (const s of hookFiles) writeFileSync(join(dir, 'plinth_hooks', s.hookFile as string), s.code);
  }
  try {
    for (const s of snippets) {
      if (s.hookFile) continue;
      if (s.lang === 'sh') {
        const script = `set -e\nnpx() { if [ "$1" = plinth ]; then shift; plinth "$@"; else command npx "$@"; fi; }\n${s.code}\n`;
        const r = spawnSync('bash', ['-c', script], { cwd: dir, env, encoding: 'utf8', timeout: SNIPPET_TIMEOUT_MS });
        assert.equal(r.status, 0, `${where(s)} failed (${r.status ?? r.signal}):\n${s.code}\n--- output:\n${shown(r.stdout + r.stderr)}`);
        continue;
      }
      await ensureServer(where(s));
      let code = s.code.replaceAll('http://127.0.0.1:8090', url);
      if (s.lang === 'ts') code = (await transform(code, { loader: 'ts', format: 'esm', target: 'node20' })).code;
      // Run from the checkout, so `pocketbase` (and `plinth`, the package itself) resolve as in a user's project.
      const r = spawnSync(process.execPath, ['--input-type=module'], { cwd: ROOT, env, input: code, encoding: 'utf8', timeout: SNIPPET_TIMEOUT_MS });
      assert.equal(r.status, 0, `${where(s)} failed (${r.status ?? r.signal}):\n${s.code}\n--- output:\n${shown(r.stdout + r.stderr)}`);
    }
    // Hook files: the server loaded them (a hook file that fails to load stops the start).
    if (hookFiles.length) await ensureServer(hookFiles.map(where).join(', '));
  } finally {
    if (server && server.exitCode === null) {
      const closed = new Promise((r) => server!.once('close', r));
      server.kill('SIGTERM');
      await closed;
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

const DOCS = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`),
];

describe('documentation snippets', () => {
  for (const file of DOCS) {
    const snippets = extractSnippets(readFileSync(join(ROOT, file), 'utf8'), file);
    if (snippets.length === 0) continue;
    it(`${file}: ${snippets.length} snippet(s) run`, async () => {
      await runSnippets(snippets);
    });
  }

  it('README has runnable shell and SDK snippets (the quick start is tested, not just shown)', () => {
    const readme = extractSnippets(readFileSync(join(ROOT, 'README.md'), 'utf8'), 'README.md');
    assert.ok(readme.some((s) => s.lang === 'sh' && /plinth superuser upsert/.test(s.code)));
    assert.ok(readme.some((s) => s.lang === 'js' && /from 'pocketbase'/.test(s.code)));
  });

  it('extracts fenced blocks, honours no-run, and fails on a broken snippet', async () => {
    const md = [
      '```sh',
      'plinth --help > /dev/null',
      '```',
      '```sh no-run',
      'plinth serve',
      '```',
      '````js',
      "const x = '```';",
      '````',
      '```json',
      '{}',
      '```',
      '```js',
      "throw new Error('this snippet is broken');",
      '```',
    ].join('\n');
    const found = extractSnippets(md, 'test.md');
    assert.deepEqual(
      found.map((s) => [s.lang, s.line, s.code]),
      [
        ['sh', 1, 'plinth --help > /dev/null'],
        ['js', 7, "const x = '```';"],
        ['js', 13, "throw new Error('this snippet is broken');"],
      ],
    );
    await runSnippets(found.slice(0, 2));
    await assert.rejects(runSnippets(found), /test\.md:13 \(js\) failed[\s\S]*this snippet is broken/);
    await assert.rejects(runSnippets([{ file: 't.md', line: 1, lang: 'sh', code: 'plinth superuser upsert not-an-email x' }]), /t\.md:1 \(sh\) failed/);
  });
});
