/**
 * `plinth hooks check [--hooksDir=DIR] [--dir=DATA_DIR]`: type-checks the hook files with the TypeScript
 * compiler (`tsc --noEmit`), `import … from 'plinth'` resolving to this Plinth's types. Starting the
 * server never type-checks (esbuild only strips types); this is the command for CI and editors' peace.
 * Exit 0 when clean, 1 with the errors printed (paths relative to the hooks directory).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, UsageError } from '../cli/args.js';
import { HOOK_FILE } from './loader.js';

export const HELP = `Type-check the hook files.

Usage:
  plinth hooks check [--hooksDir=DIR] [--dir=./plinth_data]

Runs the TypeScript compiler (no output written) over the hook files and the modules they import, with
"plinth" resolving to this Plinth's types. The server itself never type-checks, so a type error does not
stop a start; run this in CI.

Flags:
  --hooksDir   Hook files                 default plinth_hooks beside --dir
  --dir        Data directory             default ./plinth_data
`;

/**
 * Where 'plinth' types come from: emitted declarations (dist/src/index.d.ts) when the build has them (fast:
 * declaration files are not re-checked), else the source checkout's src/index.ts (which makes tsc check
 * Plinth's own sources too, several seconds; their diagnostics are not shown).
 */
function plinthTypes(): string | undefined {
  const here = dirname(fileURLToPath(import.meta.url)); // dist/src/extend
  const candidates = [join(here, '..', 'index.d.ts'), join(here, '..', '..', '..', 'src', 'index.ts')];
  return candidates.find((p) => existsSync(p));
}

/** tsc from the user's project (beside the hooks) or Plinth's own. */
function findTsc(hooksDir: string): string | undefined {
  for (const base of [join(hooksDir, 'package.json'), fileURLToPath(import.meta.url)]) {
    try {
      return createRequire(base).resolve('typescript/bin/tsc');
    } catch {
      // try the next
    }
  }
  return undefined;
}

export async function run(argv: string[]): Promise<number> {
  const { positional, flags } = parseArgs(argv, { hooksDir: 'string', dir: 'string', help: 'boolean', h: 'boolean' });
  if (flags.help || flags.h) {
    process.stdout.write(HELP);
    return 0;
  }
  const [action, ...extra] = positional;
  if (action === undefined) {
    process.stdout.write(HELP);
    return 2;
  }
  if (action !== 'check') throw new UsageError(`Unknown hooks action "${action}".\n\n${HELP}`);
  if (extra.length) throw new UsageError(`Unexpected argument "${extra[0]}".`);
  const dataDir = resolve(typeof flags.dir === 'string' ? flags.dir : './plinth_data');
  const dir = resolve(typeof flags.hooksDir === 'string' ? flags.hooksDir : join(dataDir, '..', 'plinth_hooks'));
  if (!existsSync(dir)) throw new UsageError(`No hooks directory at ${dir}.`);
  const files = readdirSync(dir).filter((f) => HOOK_FILE.test(f) && /\.m?ts$/.test(f) && !/\.d\.m?ts$/.test(f));
  // Declaration files beside them (e.g. `plinth typegen --out=plinth_hooks/plinth-types.d.ts`) are part of the check.
  const declarations = readdirSync(dir).filter((f) => /^[^.].*\.d\.m?ts$/.test(f));
  if (files.length === 0) {
    process.stdout.write(`No TypeScript hook files in ${dir}.\n`);
    return 0;
  }
  const tsc = findTsc(dir);
  if (!tsc) throw new UsageError('TypeScript is not installed: npm i -D typescript in your project.');
  const types = plinthTypes();
  const tmp = mkdtempSync(join(tmpdir(), 'plinth-hooks-check-'));
  try {
    const config = {
      compilerOptions: {
        target: 'ES2022',
        module: 'ESNext',
        // The loader bundles with esbuild: relative imports may omit extensions or name .ts files.
        moduleResolution: 'Bundler',
        allowImportingTsExtensions: true,
        noEmit: true,
        strict: true,
        skipLibCheck: true,
        esModuleInterop: true,
        resolveJsonModule: true,
        lib: ['ES2023', 'DOM'],
        // @types from the project beside the hooks, then Plinth's own (node types for the server API).
        typeRoots: [
          join(dir, 'node_modules', '@types'),
          join(dir, '..', 'node_modules', '@types'),
          join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'node_modules', '@types'),
        ],
        types: ['node'],
        ...(types ? { paths: { plinth: [types] } } : {}),
      },
      files: [...declarations, ...files].map((f) => join(dir, f)),
    };
    const tsconfig = join(tmp, 'tsconfig.json');
    writeFileSync(tsconfig, JSON.stringify(config, null, 2));
    const res = spawnSync(process.execPath, [tsc, '-p', tsconfig, '--pretty', 'false'], { encoding: 'utf8', cwd: dir });
    const out = `${res.stdout ?? ''}${res.stderr ?? ''}`;
    // Only the hook files' own diagnostics: Plinth's sources are checked by Plinth's own build.
    const lines = out.split('\n').filter((l) => l.trim() !== '');
    const mine: string[] = [];
    let keep = false;
    for (const line of lines) {
      const m = /^(.+?)\(\d+,\d+\): (error|warning)/.exec(line);
      if (m) {
        const abs = resolve(dir, m[1] as string);
        keep = abs.startsWith(dir) && !abs.includes(`${join('node_modules')}`);
        if (keep) mine.push(relative(dir, abs) + line.slice((m[1] as string).length));
      } else if (keep && /^\s/.test(line)) mine.push(line);
      else if (!m && !/^\s/.test(line)) {
        // Global diagnostics (bad options): show them.
        mine.push(line);
        keep = false;
      }
    }
    if (mine.length === 0) {
      process.stdout.write(`Hook files type-check cleanly (${files.length} file${files.length === 1 ? '' : 's'}).\n`);
      return 0;
    }
    process.stdout.write(`${mine.join('\n')}\n`);
    const count = mine.filter((l) => / error TS\d+/.test(l)).length;
    process.stdout.write(`\n${count} type error${count === 1 ? '' : 's'} in the hook files.\n`);
    return 1;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
