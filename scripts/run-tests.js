#!/usr/bin/env node
// Runs every compiled test file (dist/**/*.test.js) with Node's built-in test runner, in two phases:
// first everything except the browser tests (two files at a time), then the browser tests on their own,
// because Chromium takes both cores for a while and would disturb timing-sensitive tests beside it.
// Ends with one plain "N passed, N failed" line for the whole run.
// `npm test` builds first (pretest), so this only finds and runs. Arguments filter files by substring.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';

const BROWSER_TESTS = ['admin-ui.test.js'];

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
    const args = ['--test', '--test-reporter=spec', '--test-concurrency=2', ...files];
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

const filter = process.argv.slice(2);
let files = find('dist').sort();
if (filter.length) files = files.filter((f) => filter.some((x) => f.includes(x)));
if (files.length === 0) {
  console.error('no test files found under dist/ (did the build run?)');
  process.exit(1);
}
const isBrowser = (f) => BROWSER_TESTS.some((b) => f.endsWith(b));
const phases = [files.filter((f) => !isBrowser(f)), files.filter(isBrowser)].filter((p) => p.length);

let passed = 0;
let failed = 0;
let exitCode = 0;
for (const phase of phases) {
  const r = await runPhase(phase, {});
  passed += r.passed;
  failed += r.failed;
  if (r.code !== 0) exitCode = r.code;
}
console.log(`\n${passed} passed, ${failed} failed`);
process.exit(exitCode !== 0 || failed > 0 ? exitCode || 1 : 0);
