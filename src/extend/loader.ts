/**
 * Loading hook files: every `*.ts`, `*.mts`, `*.js`, `*.mjs` at the top of the hooks directory (not
 * `*.d.ts`), in name order. Each is bundled by esbuild — fast, well kept, and it strips TypeScript syntax
 * without type checking (type errors never block a start; `plinth hooks check` runs tsc) — with:
 *   - relative imports (`./lib/prices.ts`) bundled in, so helper modules may be TypeScript too;
 *   - bare imports (`stripe`, `zod`) resolved from the hooks directory's project (node_modules next to it or
 *     above) and left as imports of that absolute file, so npm packages load as Node loads them;
 *   - `plinth` resolved to THIS running Plinth's entry, so `ApiError`/`defineHooks` are the server's own;
 *   - an inline source map (Node's source-map support is switched on), so stack traces show file.ts:line.
 * The output is written to `<dataDir>/.hooks-build/`, imported, and removed again.
 *
 * Each file default-exports a function receiving the app API (extend/api.ts) with a `Scope` of its own.
 * Outside `--dev` a file that fails to load stops the start (StartupError: one line with file:line). In
 * `--dev` the directory is watched; a changed file (or a helper module it imports) is loaded again into a
 * new scope, and only if that succeeds is the old scope unbound and the new one bound, in one synchronous
 * step (open connections and realtime streams are untouched). A file that fails is reported with file:line
 * and its previous version stays active.
 */
import { RouteRegistry } from '../http/custom-routes.js';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, unlinkSync, watch, writeFileSync, type FSWatcher } from 'node:fs';
import { builtinModules } from 'node:module';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { App } from '../app.js';
import { StartupError } from '../errors/index.js';
import type { Logger } from '../util/logger.js';
import { ExtensionContext, Scope, type AppApi, type PlinthApp, type Providers } from './api.js';

export const HOOK_FILE = /^[^.].*\.(?:ts|mts|js|mjs)$/;

export interface LoadHooksOptions {
  /** Default: AppConfig.hooksDir (`plinth_hooks` beside the data dir). A missing directory means no hooks. */
  dir?: string;
  /** Watch and reload (plinth serve --dev); failures are reported instead of thrown. */
  dev?: boolean;
  providers?: Providers;
  logger?: Logger;
  /** Upper bound for one hook handler; default 30 s, 0 = none. */
  hookTimeoutMs?: number;
  /** Called after every (re)load attempt of a file in dev (tests, the console). */
  onReload?: (report: ReloadReport) => void;
  /** Debounce for file-system events in dev (ms, default 100). */
  debounceMs?: number;
}

export interface ReloadReport {
  /** Path relative to the hooks directory. */
  file: string;
  action: 'load' | 'reload' | 'remove';
  ok: boolean;
  /** One line: `file.ts:3:7: message`. */
  error?: string;
}

interface Loaded {
  scope: Scope;
  /** Absolute paths of every source the bundle was built from (the file and its relative imports). */
  inputs: Set<string>;
}

/** The running Plinth's public entry, which `import … from 'plinth'` in a hook file resolves to. */
const PLINTH_ENTRY = new URL('../index.js', import.meta.url).href;

let buildSeq = 0;

export class HooksLoader {
  readonly dir: string;
  /** The custom routes hook files add; pass it to `buildServer(app, { routes })`. */
  readonly routes: RouteRegistry<PlinthApp>;
  private readonly ctx: ExtensionContext;
  private readonly loaded = new Map<string, Loaded>();
  private readonly buildDir: string;
  /** A scope for API objects handed out at run time (route handler contexts): never reloaded. */
  private readonly runtime: Scope;
  private watcher: FSWatcher | null = null;
  private queue: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private changed = new Set<string>();

  constructor(
    private readonly app: App,
    private readonly options: LoadHooksOptions = {},
  ) {
    this.dir = resolve(options.dir ?? app.config.hooksDir);
    const logger = options.logger ?? app.logger;
    // Custom routes (`app.routes`): one registry per loaded directory, handed to buildServer by `routes`.
    this.routes = (options.providers?.routes as RouteRegistry<PlinthApp> | undefined) ?? new RouteRegistry<PlinthApp>({ api: () => this.api });
    this.ctx = new ExtensionContext(app, { ...options.providers, routes: this.routes }, logger, options.hookTimeoutMs ?? 30_000);
    this.buildDir = join(app.config.dataDir, '.hooks-build');
    this.runtime = new Scope(this.ctx, '(runtime)', 0);
    this.runtime.activate();
  }

  /** The API object for code that runs outside hook files' own registration (e.g. route handler contexts). */
  get api(): PlinthApp {
    return this.runtime.root as unknown as PlinthApp;
  }

  /** An API object bound to `exec` (a transaction), or the root one. */
  makeApi(exec?: Parameters<AppApi['withExec']>[0]): PlinthApp {
    return (exec ? this.runtime.root.withExec(exec) : this.runtime.root) as unknown as PlinthApp;
  }

  /** Hook files currently loaded, relative to the directory, in load order. */
  get files(): string[] {
    return [...this.loaded.entries()].sort((a, b) => a[1].scope.priority - b[1].scope.priority).map(([f]) => f);
  }

  /** Loads every hook file (outside dev, the first failure throws a StartupError); in dev starts watching. */
  async load(): Promise<void> {
    const files = this.list();
    if (files.length) process.setSourceMapsEnabled(true);
    let priority = 0;
    for (const file of files) {
      priority += 1000;
      const error = await this.loadFile(file, priority, 'load');
      if (error && !this.options.dev) throw new StartupError(`Hook file failed to load: ${error}`);
    }
    if (this.options.dev) this.watch();
    // esbuild keeps a helper process for further builds; outside dev there are none.
    else if (files.length) (await import('esbuild')).stop();
  }

  /** Fires onServe (after the server listens). */
  async serve(address: string): Promise<void> {
    await this.app.hooks.onServe.trigger({ address });
  }

  /** Fires onTerminate (shutdown), bounded to 5 s; failures are logged. */
  async terminate(signal?: string): Promise<void> {
    const hook = this.app.hooks.onTerminate;
    if (hook.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        hook.trigger(signal ? { signal } : {}),
        new Promise((r) => {
          timer = setTimeout(r, 5000);
        }),
      ]);
    } catch (err) {
      this.ctx.logger.error({ err }, 'onTerminate hook failed');
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops watching and unbinds every file's registrations. */
  async close(): Promise<void> {
    this.watcher?.close();
    this.watcher = null;
    if (this.timer) clearTimeout(this.timer);
    await this.queue;
    for (const { scope } of this.loaded.values()) scope.dispose();
    this.loaded.clear();
    rmSync(this.buildDir, { recursive: true, force: true });
  }

  /** Waits for reloads in progress (tests). */
  settled(): Promise<void> {
    return this.queue;
  }

  private list(): string[] {
    if (!existsSync(this.dir) || !statSync(this.dir).isDirectory()) return [];
    return readdirSync(this.dir)
      .filter((f) => HOOK_FILE.test(f) && !/\.d\.m?ts$/.test(f) && isFile(join(this.dir, f)))
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** Builds, imports and runs one file into a new scope; swaps it in on success. Returns the error line, if any. */
  private async loadFile(file: string, priority: number, action: 'load' | 'reload'): Promise<string | undefined> {
    const abs = join(this.dir, file);
    const scope = new Scope(this.ctx, file, priority);
    let inputs: Set<string>;
    try {
      const built = await this.build(abs);
      inputs = built.inputs;
      const mod = (await importOnce(built.code, this.buildDir, file)) as { default?: unknown };
      if (typeof mod.default !== 'function') {
        throw Object.assign(new Error('must default-export a function receiving the app, e.g. export default defineHooks((app) => { … })'), { hookFile: file });
      }
      await mod.default(scope.root);
    } catch (err) {
      scope.dispose();
      const line = describeLoadError(err, this.dir, file);
      this.ctx.logger.error(
        { file, error: line },
        action === 'load' && !this.options.dev ? 'hook file failed to load' : 'hook file failed to load; the previous version stays active',
      );
      this.options.onReload?.({ file, action, ok: false, error: line });
      return line;
    }
    this.loaded.get(file)?.scope.dispose();
    scope.activate();
    this.loaded.set(file, { scope, inputs });
    if (action === 'reload') this.ctx.logger.info({ file }, 'hook file reloaded');
    this.options.onReload?.({ file, action, ok: true });
    return undefined;
  }

  private async build(abs: string): Promise<{ code: string; inputs: Set<string> }> {
    const esbuild = await import('esbuild');
    const result = await esbuild.build({
      entryPoints: [abs],
      absWorkingDir: this.dir,
      bundle: true,
      write: false,
      outdir: this.buildDir,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      sourcemap: 'inline',
      metafile: true,
      logLevel: 'silent',
      define: {
        'import.meta.url': JSON.stringify(pathToFileURL(abs).href),
        'import.meta.dirname': JSON.stringify(dirname(abs)),
        'import.meta.filename': JSON.stringify(abs),
      },
      plugins: [externalPackages()],
    });
    const out = result.outputFiles.find((f) => f.path.endsWith('.js')) ?? result.outputFiles[0];
    if (!out) throw new Error('esbuild produced no output');
    const inputs = new Set(Object.keys(result.metafile.inputs).map((p) => resolve(this.dir, p)));
    return { code: out.text, inputs };
  }

  private watch(): void {
    if (!existsSync(this.dir)) {
      this.ctx.logger.warn({ dir: this.dir }, 'hooks: the hooks directory does not exist; create it and restart to watch it');
      return;
    }
    try {
      this.watcher = watch(this.dir, { recursive: true }, (_event, name) => {
        const rel = name ? String(name) : '';
        if (rel.split(sep).some((part) => part === 'node_modules' || part.startsWith('.'))) return;
        this.changed.add(rel === '' ? '' : resolve(this.dir, rel));
        if (this.timer) clearTimeout(this.timer);
        this.timer = setTimeout(() => {
          this.timer = null;
          const changed = this.changed;
          this.changed = new Set();
          this.queue = this.queue.then(() => this.reload(changed)).catch((err) => this.ctx.logger.error({ err }, 'hooks: reload failed'));
        }, this.options.debounceMs ?? 100);
      });
      this.watcher.on('error', (err) => this.ctx.logger.warn({ err }, 'hooks: watching the hooks directory failed'));
    } catch (err) {
      this.ctx.logger.warn({ err }, 'hooks: cannot watch the hooks directory');
    }
  }

  private async reload(changed: Set<string>): Promise<void> {
    process.setSourceMapsEnabled(true);
    const present = this.list();
    for (const file of [...this.loaded.keys()]) {
      if (present.includes(file)) continue;
      this.loaded.get(file)?.scope.dispose();
      this.loaded.delete(file);
      this.ctx.logger.info({ file }, 'hook file removed');
      this.options.onReload?.({ file, action: 'remove', ok: true });
    }
    const all = changed.has('');
    for (const file of present) {
      const current = this.loaded.get(file);
      const abs = join(this.dir, file);
      if (current && !all && !changed.has(abs) && ![...changed].some((c) => current.inputs.has(c))) continue;
      await this.loadFile(file, current?.scope.priority ?? this.priorityFor(file), current ? 'reload' : 'load');
    }
  }

  /** A priority between the loaded files sorting before and after `file` (load order = name order). */
  private priorityFor(file: string): number {
    let before = 0;
    let after = Infinity;
    for (const [name, { scope }] of this.loaded) {
      if (name < file) before = Math.max(before, scope.priority);
      else after = Math.min(after, scope.priority);
    }
    return after === Infinity ? before + 1000 : (before + after) / 2;
  }
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false; // a dangling link, or removed meanwhile
  }
}

/**
 * Bare imports: `plinth` → the running Plinth; Node built-ins stay as they are; packages are resolved by
 * esbuild from the importing file's directory (Node's algorithm, `import` conditions) and imported by
 * absolute URL, so they are not bundled and resolve their own dependencies as usual.
 */
function externalPackages(): import('esbuild').Plugin {
  return {
    name: 'plinth-externals',
    setup(build) {
      build.onResolve({ filter: /^[^./]/ }, async (args) => {
        if (args.kind === 'entry-point' || (args.pluginData as { inner?: boolean } | undefined)?.inner) return undefined;
        if (args.path === 'plinth') return { path: PLINTH_ENTRY, external: true };
        if (args.path.startsWith('node:') || builtinModules.includes(args.path)) return { path: args.path, external: true };
        const r = await build.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, pluginData: { inner: true } });
        if (r.errors.length) return { errors: r.errors };
        if (r.external) return { path: r.path, external: true };
        return { path: pathToFileURL(r.path).href, external: true };
      });
    },
  };
}

/** Writes the bundle, imports it (a fresh module: unique name), removes the file again. */
async function importOnce(code: string, buildDir: string, file: string): Promise<unknown> {
  mkdirSync(buildDir, { recursive: true });
  const out = join(buildDir, `${basename(file).replace(/[^\w.-]/g, '_')}.${process.pid}.${++buildSeq}.mjs`);
  writeFileSync(out, code);
  try {
    return await import(pathToFileURL(out).href);
  } finally {
    try {
      unlinkSync(out);
    } catch {
      // already gone
    }
  }
}

/** One line naming the file and line: esbuild's diagnostics, or the first stack frame inside the hooks dir. */
export function describeLoadError(err: unknown, dir: string, file: string): string {
  const errors = (err as { errors?: Array<{ text: string; location?: { file: string; line: number; column: number } | null }> })?.errors;
  if (Array.isArray(errors) && errors.length) {
    const first = errors[0]!;
    const loc = first.location;
    const where = loc ? `${relative(dir, resolve(dir, loc.file)) || file}:${loc.line}:${loc.column + 1}` : file;
    const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : '';
    return `${where}: ${first.text}${more}`;
  }
  const e = err as Error;
  const message = (e?.message ?? String(err)).split('\n')[0];
  const stack = typeof e?.stack === 'string' ? e.stack : '';
  for (const m of stack.matchAll(/(?:file:\/\/)?(\/[^\s():]+):(\d+):(\d+)/g)) {
    const path = m[1]!.startsWith('file:') ? fileURLToPath(m[1]!) : m[1]!;
    if (path.startsWith(dir + sep)) return `${relative(dir, path)}:${m[2]}:${m[3]}: ${message}`;
  }
  return `${file}: ${message}`;
}

/**
 * A process-level net for user code: an unhandled promise rejection is logged and the server keeps
 * serving (Node's default would exit). Installed once by `plinth serve`.
 */
let guarded = false;
export function installProcessGuards(logger: Logger): void {
  if (guarded) return;
  guarded = true;
  process.on('unhandledRejection', (reason) => {
    logger.error({ err: reason }, 'unhandled promise rejection (a hook that did not await a promise?); the server keeps running');
  });
}

/** Loads the hooks directory of `app`; see HooksLoader. */
export async function loadHooks(app: App, options: LoadHooksOptions = {}): Promise<HooksLoader> {
  const loader = new HooksLoader(app, options);
  await loader.load();
  return loader;
}
