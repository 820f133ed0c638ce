#!/usr/bin/env node
// Runs every compiled test file (dist/**/*.test.js) with Node's built-in test runner:
//   1. everything except the browser tests, on SQLite (two files at a time);
//   2. every file that opens a Plinth app through test/helpers/server again, on PostgreSQL
//      (PLINTH_TEST_DB=postgres: each app gets a throw-away database on 127.0.0.1:5432, dropped after);
//   3. the browser tests on their own, on both dialects, because Chromium takes both cores for a while
//      and would disturb timing-sensitive tests beside it; then the packaging test on its own, once (npm pack,
//      npm install, tsc and vite take both cores too).
// Ends with one plain "N passed, N failed" line for the whole run. `--sqlite-only` / `--postgres-only`
// limit the dialects.
// `npm test` builds first (pretest), so this only finds and runs. Arguments filter files by substring.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';

const BROWSER_TESTS = [
  'admin-ui.test.js',
  'admin-ui-editing.test.js',
  'admin-jobs-ui.test.js',
  'admin-ui-backups.test.js',
  'admin-webhooks.test.js',
  'admin-api-reference-ui.test.js',
];
const ALONE_TESTS = ['package.test.js'];

function find(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) find(p, out);
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

/** Runs node --test on `files`, echoing its output, and returns the pass/fail counts it reported. */
function runPhase(files, env) {
  return new Promise((resolve) => {
    const args = ['--test', '--test-reporter=spec', '--test-concurrency=2', '--test-timeout=600000', '--test-force-exit', ...files];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, NODE_ENV: 'test', ...env } });
    let tail = '';
    child.stdout.on('data', (chunk) => {
      process.stdout.write(chunk);
      tail = (tail + chunk.toString()).slice(-4000);
    });
    child.on('close', (code) => {
      const count = (label) => Number(new RegExp(`ℹ ${label} (\\d+)`).exec(tail)?.[1] ?? 0);
      resolve({ code: code ?? 1, passed: count('pass'), failed: count('fail') + count('cancelled') });
    });
  });
}

const args = process.argv.slice(2);
const filter = args.filter((a) => !a.startsWith('--'));
const dialects = args.includes('--sqlite-only') ? ['sqlite'] : args.includes('--postgres-only') ? ['postgres'] : ['sqlite', 'postgres'];
let files = find('dist').sort();
if (filter.length) files = files.filter((f) => filter.some((x) => f.includes(x)));
if (files.length === 0) {
  console.error('no test files found under dist/ (did the build run?)');
  process.exit(1);
}
const isBrowser = (f) => BROWSER_TESTS.some((b) => f.endsWith(b));
const isAlone = (f) => ALONE_TESTS.some((b) => f.endsWith(b));
// A file runs again on PostgreSQL when it starts apps through the helpers that pick the dialect
// (test/helpers/server.ts); files that open a PostgreSQL database themselves run once.
const opensApps = (f) => /\b(startServer|openTestApp|startBareServer)\(/.test(readFileSync(f, 'utf8'));
const pgFiles = files.filter(opensApps);
const phases = [];
if (dialects.includes('sqlite')) phases.push({ name: 'sqlite', files: files.filter((f) => !isBrowser(f) && !isAlone(f)), env: {} });
if (dialects.includes('postgres'))
  phases.push({ name: 'postgres', files: pgFiles.filter((f) => !isBrowser(f) && !isAlone(f)), env: { PLINTH_TEST_DB: 'postgres' } });
for (const name of dialects) {
  phases.push({ name: `${name} browser`, files: files.filter(isBrowser), env: name === 'postgres' ? { PLINTH_TEST_DB: 'postgres' } : {} });
}

if (dialects.includes('sqlite')) phases.push({ name: 'packaging', files: files.filter(isAlone), env: {} });

let passed = 0;
let failed = 0;
let exitCode = 0;
const summary = [];
for (const phase of phases.filter((p) => p.files.length)) {
  console.log(`\n=== ${phase.name}: ${phase.files.length} files ===`);
  const r = await runPhase(phase.files, phase.env);
  passed += r.passed;
  failed += r.failed;
  summary.push(`${phase.name}: ${r.passed} passed, ${r.failed} failed`);
  if (r.code !== 0) exitCode = r.code;
}
console.log(`\n${summary.join('\n')}`);
console.log(`\n${passed} passed, ${failed} failed`);
process.exit(exitCode !== 0 || failed > 0 ? exitCode || 1 : 0);
