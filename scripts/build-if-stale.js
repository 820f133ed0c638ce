#!/usr/bin/env node
// `npm start`'s prestart: builds only what changed since the last build, so a start with nothing changed
// goes straight to the server (the full, clean build stays `npm run build`, which `npm test` runs).
//   - TypeScript (src/, test/, bench/, tsconfig.json) newer than dist/.tsbuildinfo → `tsc -p tsconfig.json`
//     (incremental: only changed files are re-checked and re-emitted);
//   - the dashboard (admin/, package-lock.json) newer than dist/admin/index.html → `npm run build:admin`.
// Folder mtimes count too, so a deleted or renamed file also makes the build stale.
import { existsSync, readdirSync, statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

/** The newest mtime (ms) of `paths` and, for folders, everything below them (node_modules skipped). */
function newest(paths) {
  let max = 0;
  const visit = (p) => {
    let st;
    try {
      st = statSync(p);
    } catch {
      return;
    }
    if (st.mtimeMs > max) max = st.mtimeMs;
    if (!st.isDirectory()) return;
    for (const name of readdirSync(p)) if (name !== 'node_modules' && !name.startsWith('.')) visit(join(p, name));
  };
  for (const p of paths) visit(p);
  return max;
}

const mtime = (p) => (existsSync(p) ? statSync(p).mtimeMs : 0);

function run(command, args) {
  const r = spawnSync(command, args, { stdio: 'inherit', shell: process.platform === 'win32' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

const started = performance.now();
const built = [];

const tsInfo = 'dist/.tsbuildinfo';
if (newest(['src', 'test', 'bench', 'tsconfig.json']) > mtime(tsInfo) || !existsSync('dist/src/cli/main.js')) {
  run('npx', ['tsc', '-p', 'tsconfig.json']);
  // tsc leaves the file alone when nothing needed emitting; mark the check as done either way.
  if (existsSync(tsInfo)) utimesSync(tsInfo, new Date(), new Date());
  built.push('server');
}

const adminIndex = 'dist/admin/index.html';
if (newest(['admin', 'package-lock.json']) > mtime(adminIndex)) {
  run('npm', ['run', '--silent', 'build:admin']);
  built.push('dashboard');
}

const ms = Math.round(performance.now() - started);
process.stdout.write(built.length ? `Built ${built.join(' and ')} in ${ms} ms.\n` : `Build up to date (checked in ${ms} ms).\n`);
