/**
 * The deployment files as a user gets them (docs/deploy.md): the Dockerfile (dockerfilelint, plus the
 * properties the image must have: multi-stage, `npm ci` + build, production dependencies only, a non-root user,
 * a HEALTHCHECK with node, the data volume, port 8090, tini as PID 1, pinned base images), its runtime command
 * run here as the image would run it (with the image's env, the same flags, the paths mapped to temp folders),
 * the HEALTHCHECK command against it, `.dockerignore` keeping what the build needs, docker-compose.yml (parsed
 * as YAML; PostgreSQL healthy before Plinth, the URL Plinth reads, volumes), and the systemd unit
 * (`systemd-analyze verify` and its offline security score where systemd-analyze exists, structure always).
 * No Docker engine is needed: nothing here builds an image.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { parse as parseYaml } from 'yaml';
import { BIN, freePort } from '../helpers/cli.js';

const require = createRequire(import.meta.url);
const ROOT = resolve('.');
const read = (p: string) => readFileSync(join(ROOT, p), 'utf8');

interface Instruction {
  op: string;
  args: string;
  line: number;
}

/** The Dockerfile's instructions (continuation lines joined, comments dropped), split into stages. */
function dockerfile(): { stages: { from: string; name?: string; body: Instruction[] }[]; all: Instruction[] } {
  const all: Instruction[] = [];
  const lines = read('Dockerfile').split('\n');
  for (let i = 0; i < lines.length; i++) {
    let text = lines[i] as string;
    const line = i + 1;
    if (/^\s*(#|$)/.test(text)) continue;
    while (text.endsWith('\\') && i + 1 < lines.length) text = `${text.slice(0, -1)} ${(lines[++i] as string).trim()}`;
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(text);
    assert.ok(m, `Dockerfile line ${line} is an instruction`);
    all.push({ op: (m[1] as string).toUpperCase(), args: (m[2] as string).trim(), line });
  }
  const stages: { from: string; name?: string; body: Instruction[] }[] = [];
  for (const ins of all) {
    if (ins.op === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      assert.ok(m, `FROM at line ${ins.line}`);
      stages.push({ from: m[1] as string, ...(m[2] ? { name: m[2] } : {}), body: [] });
    } else stages.at(-1)?.body.push(ins);
  }
  return { stages, all };
}

const jsonArgs = (ins: Instruction | undefined): string[] => {
  assert.ok(ins, 'instruction present');
  const parsed = JSON.parse(ins.args) as unknown;
  assert.ok(Array.isArray(parsed), `${ins.op} is in exec form (a JSON array), so signals reach the process`);
  return parsed as string[];
};

describe('deployment files', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'plinth-deploy-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('the Dockerfile passes dockerfilelint', () => {
    const { run } = require('dockerfilelint') as { run(path: string, content: string): { line: number; title: string; description: string }[] };
    // The linter is live: it flags the mistakes it exists for.
    assert.ok(run('.', 'FROM node:latest\nRUN apt-get install curl\n').length >= 2);
    assert.deepEqual(run(ROOT, read('Dockerfile')), []);
  });

  it('the Dockerfile builds in one stage and runs the production dependencies as a non-root user in another', () => {
    const { stages, all } = dockerfile();
    assert.ok(stages.length >= 2, 'multi-stage');
    const args = Object.fromEntries(
      all
        .filter((i) => i.op === 'ARG')
        .map((i) => i.args.split('='))
        .filter((kv) => kv.length === 2),
    );
    for (const stage of stages) {
      const image = stage.from.replace(/\$\{(\w+)\}/g, (_m, name: string) => args[name] ?? '');
      assert.match(image, /^[\w./-]+:[\w.-]+$/, `${stage.from}: a base image with an explicit tag`);
      assert.doesNotMatch(image, /:latest$/, 'no latest tag');
      assert.match(image, /^node:20\.\d+\.\d+-/, 'Node 20, pinned to a release');
    }
    const build = stages[0]!;
    const runtime = stages.at(-1)!;
    const runs = (s: typeof build) => s.body.filter((i) => i.op === 'RUN').map((i) => i.args);
    assert.ok(
      runs(build).some((r) => /\bnpm ci\b/.test(r)),
      'npm ci (the lock file, not npm install)',
    );
    assert.ok(runs(build).some((r) => /\bnpm run build\b/.test(r) && /\bnpm prune --omit=dev\b/.test(r)));
    assert.ok(!runs(runtime).some((r) => /\bnpm (ci|install|i)\b/.test(r)), 'the runtime stage installs nothing from npm');
    const copies = runtime.body.filter((i) => i.op === 'COPY').map((i) => i.args);
    assert.ok(
      copies.every((c) => c.startsWith(`--from=${build.name}`)),
      'the runtime stage copies only from the build stage',
    );
    for (const path of ['package.json', 'node_modules', 'bin', 'dist/src', 'dist/admin'])
      assert.ok(
        copies.some((c) => c.includes(`/app/${path} `)),
        `copies ${path}`,
      );
    assert.ok(!copies.some((c) => /\bsrc\b(?!\/)|\btest\b|\badmin\b(?!\/)/.test(c.replace(/dist\/(src|admin)/g, ''))), 'no sources in the image');

    const user = runtime.body.filter((i) => i.op === 'USER').at(-1);
    assert.ok(user, 'USER set');
    assert.doesNotMatch(user.args, /^(root|0)(:|$)/, 'not root');
    assert.ok(
      runs(runtime).some((r) => r.includes(`useradd --system --uid ${'10001'}`)),
      'a dedicated system user with a fixed uid',
    );
    assert.deepEqual(JSON.parse(runtime.body.find((i) => i.op === 'VOLUME')!.args), ['/data']);
    assert.equal(runtime.body.find((i) => i.op === 'EXPOSE')?.args, '8090');
    const health = runtime.body.find((i) => i.op === 'HEALTHCHECK')!;
    assert.ok(health, 'HEALTHCHECK');
    const healthCmd = jsonArgs({ ...health, args: health.args.slice(health.args.indexOf('CMD') + 3).trim() });
    assert.equal(healthCmd[0], 'node', 'the check runs with node: no curl in the image');
    assert.match(healthCmd.join(' '), /http:\/\/127\.0\.0\.1:8090\/api\/health/);
    const entry = jsonArgs(runtime.body.find((i) => i.op === 'ENTRYPOINT'));
    assert.equal(entry[0], '/usr/bin/tini', 'tini is PID 1: it forwards SIGTERM and reaps child processes');
    assert.ok(runs(runtime).some((r) => /apt-get install -y --no-install-recommends tini/.test(r)));
    const cmd = jsonArgs(runtime.body.find((i) => i.op === 'CMD'));
    assert.deepEqual(cmd.slice(0, 3), ['serve', '--http=0.0.0.0:8090', '--dir=/data']);
    // The shutdown budget is below Docker's default 10 s stop timeout.
    const env = runtime.body
      .filter((i) => i.op === 'ENV')
      .map((i) => i.args)
      .join(' ');
    assert.match(env, /PLINTH_SHUTDOWN_TIMEOUT=([1-9])\b/);
  });

  it('.dockerignore leaves out node_modules, dist and .git but keeps everything npm ci and the build read', () => {
    const patterns = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    for (const p of ['node_modules', 'dist', '.git', 'plinth_data']) assert.ok(patterns.includes(p), p);
    const tsconfig = JSON.parse(read('tsconfig.json')) as { include: string[] };
    const needed = ['package.json', 'package-lock.json', 'tsconfig.json', 'bin', 'scripts', 'admin', ...tsconfig.include.map((g) => g.split('/')[0] as string)];
    for (const path of needed) {
      assert.ok(existsSync(join(ROOT, path)), `${path} exists`);
      assert.ok(!patterns.some((p) => p === path || p === `${path}/` || p === `/${path}`), `${path} is in the build context`);
    }
  });

  it("the image's command, run here as the image runs it, serves; its HEALTHCHECK passes; SIGTERM stops it cleanly", async () => {
    const { stages } = dockerfile();
    const runtime = stages.at(-1)!;
    const entry = jsonArgs(runtime.body.find((i) => i.op === 'ENTRYPOINT'));
    const cmd = jsonArgs(runtime.body.find((i) => i.op === 'CMD'));
    const env: Record<string, string> = {};
    for (const i of runtime.body.filter((x) => x.op === 'ENV')) for (const m of i.args.matchAll(/(\w+)=(\S+)/g)) env[m[1] as string] = m[2] as string;
    const port = await freePort();
    // The container's paths, mapped to folders here; tini is left out (it only execs the rest).
    const map = (arg: string) =>
      arg
        .replace('/app/bin/plinth.js', BIN)
        .replace(/^--dir=\/data$/, `--dir=${join(dir, 'data')}`)
        .replace(/=\/app\//, `=${dir}/app/`)
        .replace('--http=0.0.0.0:8090', `--http=127.0.0.1:${port}`);
    const [node, ...nodeArgs] = entry.slice(entry.indexOf('--') + 1);
    assert.equal(node, 'node');
    const argv = [...nodeArgs, ...cmd].map(map);
    assert.deepEqual(argv.slice(0, 3), ['--max-semi-space-size=2', BIN, 'serve']);
    const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let output = '';
    child.stdout.on('data', (b) => (output += b));
    child.stderr.on('data', (b) => (output += b));
    const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    const health = runtime.body.find((i) => i.op === 'HEALTHCHECK')!;
    const check = jsonArgs({ ...health, args: health.args.slice(health.args.indexOf('CMD') + 3).trim() });
    const runCheck = (p: number) =>
      spawnSync(
        process.execPath,
        check.slice(1).map((a) => a.replace('127.0.0.1:8090', `127.0.0.1:${p}`)),
        { timeout: 10_000 },
      ).status;
    try {
      const deadline = Date.now() + 20_000;
      while (!output.includes('Server started') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.match(output, new RegExp(`Server started at http://127\\.0\\.0\\.1:${port}`));
      assert.ok(output.includes(`Data dir: ${join(dir, 'data')}`), output);
      assert.ok(output.includes(`Migrations: ${join(dir, 'app', 'plinth_migrations')}`), output);
      assert.equal(runCheck(port), 0, 'HEALTHCHECK passes against the running server');
      const res = await fetch(`http://127.0.0.1:${port}/api/collections`);
      assert.equal(res.status, 401, 'the API answers');
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0, output);
    assert.equal(runCheck(port), 1, 'HEALTHCHECK fails once nothing listens');
  });

  it('docker-compose.yml: PostgreSQL healthy before Plinth starts, the URL Plinth reads, volumes for both', () => {
    const compose = parseYaml(read('docker-compose.yml')) as {
      services: Record<string, Record<string, unknown>>;
      volumes: Record<string, unknown>;
    };
    const { postgres, plinth } = compose.services as Record<string, Record<string, any>>;
    assert.ok(postgres && plinth);
    assert.match(postgres.image, /^postgres:1[5-9]/, 'PostgreSQL 15 or newer (docs/postgres.md), tagged');
    assert.match(postgres.healthcheck.test.join(' '), /pg_isready/);
    assert.deepEqual(plinth.depends_on, { postgres: { condition: 'service_healthy' } });
    assert.equal(plinth.build, '.', 'built from this Dockerfile');
    // Plinth reads PLINTH_DATABASE_URL (src/cli/main.ts) pointing at the postgres service with its user and db.
    assert.ok(read('src/cli/main.ts').includes('process.env.PLINTH_DATABASE_URL'));
    const url = String(plinth.environment.PLINTH_DATABASE_URL);
    const pgEnv = postgres.environment as Record<string, string>;
    assert.match(url, new RegExp(`^postgres://${pgEnv.POSTGRES_USER}:\\$\\{POSTGRES_PASSWORD\\}@postgres:5432/${pgEnv.POSTGRES_DB}$`));
    assert.match(pgEnv.POSTGRES_PASSWORD as string, /^\$\{POSTGRES_PASSWORD:\?/, 'no default password: compose refuses to start without one');
    assert.ok((postgres.volumes as string[]).includes('pg_data:/var/lib/postgresql/data'));
    assert.ok((plinth.volumes as string[]).includes('plinth_data:/data'), "the image's data volume");
    assert.deepEqual(Object.keys(compose.volumes).sort(), ['pg_data', 'plinth_data']);
    assert.deepEqual(plinth.ports, ['127.0.0.1:8090:8090'], 'published on loopback only: a TLS proxy goes in front');
    assert.match(String(plinth.stop_grace_period), /^(1[0-9]|[2-9][0-9])s$/, 'more than the image’s 8 s shutdown budget');
  });

  it('the systemd unit: a dedicated user, hardening, only the data dir writable, restarts on failure', () => {
    const text = read('deploy/plinth.service');
    const sections: Record<string, Record<string, string[]>> = {};
    let current = '';
    for (const raw of text.split('\n')) {
      const line = raw.trim();
      if (!line || line.startsWith('#')) continue;
      const sec = /^\[(\w+)\]$/.exec(line);
      if (sec) {
        current = sec[1] as string;
        sections[current] = {};
        continue;
      }
      const kv = /^(\w+)=(.*)$/.exec(line);
      assert.ok(kv && current, `a key=value line in a section: ${line}`);
      ((sections[current] as Record<string, string[]>)[kv[1] as string] ??= []).push(kv[2] as string);
    }
    const service = sections.Service as Record<string, string[]>;
    const one = (k: string) => service[k]?.at(-1);
    assert.ok(sections.Unit && sections.Install);
    assert.equal(one('User'), 'plinth');
    assert.equal(one('NoNewPrivileges'), 'yes');
    assert.equal(one('ProtectSystem'), 'strict');
    assert.equal(one('Restart'), 'on-failure');
    assert.match(one('EnvironmentFile') ?? '', /^-?\/etc\/plinth\/plinth\.env$/);
    const execStart = one('ExecStart') ?? '';
    const dataDir = /--dir=(\S+)/.exec(execStart)?.[1];
    const migrations = /--migrationsDir=(\S+)/.exec(execStart)?.[1];
    assert.ok(dataDir && migrations);
    const writable = (one('ReadWritePaths') ?? '').split(/\s+/);
    for (const path of [dataDir, migrations])
      assert.ok(
        writable.some((w) => path === w || path.startsWith(`${w}/`)),
        `${path} is writable`,
      );
    assert.equal(one('StateDirectory'), 'plinth', '/var/lib/plinth is created for the user');
    assert.ok(
      writable.every((w) => w.startsWith('/var/lib/plinth')),
      'nothing else is writable',
    );
    assert.match(execStart, /^\/usr\/bin\/node --max-semi-space-size=2 \S+\/bin\/plinth\.js serve --http=127\.0\.0\.1:8090 /);
    assert.equal(service.MemoryDenyWriteExecute, undefined, "V8's JIT needs W+X memory");
    const stopSec = Number(one('TimeoutStopSec'));
    const budget = Number(/^PLINTH_SHUTDOWN_TIMEOUT=(\d+)$/.exec(service.Environment?.find((e) => e.startsWith('PLINTH_SHUTDOWN_TIMEOUT=')) ?? '')?.[1]);
    assert.ok(stopSec > budget, 'systemd waits longer than Plinth needs to stop');
  });

  it('systemd-analyze verifies the unit and rates its exposure low', (t) => {
    const probe = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
    if (probe.status !== 0) {
      // The structural test above still ran; reported as skipped, not passed.
      t.skip('systemd-analyze is not installed: checked the unit structurally only');
      return;
    }
    // The unit names /opt/plinth; point it at this checkout so the ExecStart check finds a real file.
    const unit = join(dir, 'plinth.service');
    writeFileSync(unit, read('deploy/plinth.service').replaceAll('/opt/plinth/bin/plinth.js', BIN).replace('/usr/bin/node', process.execPath));
    const verify = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' });
    assert.equal(verify.status, 0, verify.stderr);
    assert.equal(verify.stderr.trim(), '', 'no unknown keys or bad values');
    const security = spawnSync('systemd-analyze', ['security', '--offline=yes', unit], { encoding: 'utf8' });
    const score = Number(/Overall exposure level for \S+: ([\d.]+)/.exec(security.stdout + security.stderr)?.[1]);
    assert.ok(score <= 2.0, `exposure ${score} (0 = locked down, 10 = unprotected)`);
  });
});
