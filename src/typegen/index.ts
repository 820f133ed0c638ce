/**
 * Typegen: TypeScript types from the live schema (generate.ts), written to a file once (`plinth typegen`)
 * or kept up to date while `serve --dev` runs (`watchTypes`).
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { App } from '../app.js';
import { generateTypes } from './generate.js';

export { generateTypes, type GenerateOptions } from './generate.js';

/** The default output: `plinth-types.d.ts` beside the data directory (like plinth_migrations/). */
export function defaultTypesFile(dataDir: string): string {
  return join(dataDir, '..', 'plinth-types.d.ts');
}

/**
 * Writes `content` to `file` unless it already holds exactly that (so file watchers — an editor, the hooks
 * reloader, a front-end dev server — see a change only when the types changed). Atomic: temp file + rename.
 * Returns whether the file was written.
 */
export function writeIfChanged(file: string, content: string): boolean {
  try {
    if (readFileSync(file, 'utf8') === content) return false;
  } catch {
    /* absent: write it */
  }
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, content);
  renameSync(tmp, file);
  return true;
}

/** Generates the types for `app`'s schema into `file`; returns whether the file changed. */
export function writeTypes(app: App, file: string): boolean {
  return writeIfChanged(file, generateTypes(app.collections.all()));
}

export interface TypesWatcher {
  /** Resolves after pending rewrites (tests). */
  settled(): Promise<void>;
  stop(): void;
}

/**
 * Writes the types now and again after every schema change (`onCollectionChange`, debounced 50 ms so an
 * import of many collections writes once). A failure to write is logged, never thrown: dev tooling must
 * not take the server down.
 */
export function watchTypes(app: App, file: string, options: { debounceMs?: number } = {}): TypesWatcher {
  const debounce = options.debounceMs ?? 50;
  let timer: NodeJS.Timeout | undefined;
  let waiters: Array<() => void> = [];
  const write = () => {
    timer = undefined;
    try {
      if (writeTypes(app, file)) app.logger.info({ file }, 'typegen: types written');
    } catch (err) {
      app.logger.error({ err, file }, 'typegen: could not write the types file');
    }
    const done = waiters;
    waiters = [];
    for (const w of done) w();
  };
  write();
  const id = app.hooks.onCollectionChange.bind(async (_event, next) => {
    await next();
    if (timer) clearTimeout(timer);
    timer = setTimeout(write, debounce);
  });
  return {
    settled: () => (timer ? new Promise<void>((resolve) => waiters.push(resolve)) : Promise.resolve()),
    stop() {
      app.hooks.onCollectionChange.unbind(id);
      if (timer) clearTimeout(timer);
      timer = undefined;
      const done = waiters;
      waiters = [];
      for (const w of done) w();
    },
  };
}
