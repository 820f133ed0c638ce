/**
 * Durability of the job queue under kill -9: a separate Node process (test/helpers/jobs-worker.ts) works
 * through 1,000 queued jobs and is killed with SIGKILL at random moments, round after round (also while it
 * starts and enqueues); then one last process drains the queue. Every job must end done (none lost, none
 * duplicated by the idempotent re-enqueues), and no job may be marked done whose handler did not finish
 * (each finished handler appended its id to a log before returning). Runs on SQLite (20 rounds) and on
 * PostgreSQL (fewer rounds: a killed node's claims wait for their lease, 400 ms here, to expire).
 * `PLINTH_JOBS_KILL_ROUNDS` overrides the number of rounds.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import pg from 'pg';
import { createTempDatabase } from '../helpers/postgres.js';

const WORKER = fileURLToPath(new URL('../helpers/jobs-worker.js', import.meta.url));
const JOBS = 1000;

interface Round {
  killedAfterReady: boolean;
  ms: number;
  /** Distinct jobs finished when this round's process was killed. */
  finishedAtKill?: number;
}

function finishedIds(log: string): Set<string> {
  return new Set(readFileSync(log, 'utf8').split('\n').filter(Boolean));
}

function runWorker(args: string[], killAfterMs: number | null): Promise<Round> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, [WORKER, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let ready = false;
    let timer: NodeJS.Timeout | undefined;
    child.stdout.on('data', (b) => {
      out += b;
      if (!ready && out.includes('ready')) {
        ready = true;
        if (killAfterMs !== null && killAfterMs >= 0) timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      }
    });
    child.stderr.on('data', (b) => (err += b));
    // A negative delay: kill during start-up / enqueueing, before `ready`.
    if (killAfterMs !== null && killAfterMs < 0) timer = setTimeout(() => child.kill('SIGKILL'), -killAfterMs);
    const guard = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      clearTimeout(guard);
      if (killAfterMs === null && code !== 0) return reject(new Error(`worker exited ${code ?? signal}: ${err}`));
      if (killAfterMs !== null && signal !== 'SIGKILL') return reject(new Error(`worker ended by itself (${code ?? signal}) before the kill: ${err}`));
      resolve({ killedAfterReady: ready, ms: Date.now() - t0 });
    });
  });
}

interface JobRow {
  id: string;
  key: string;
  status: string;
  attempts: number;
}

async function tortureAndCheck(rounds: number, args: string[], readJobs: () => Promise<JobRow[]>, log: string): Promise<void> {
  writeFileSync(log, '');
  const kills: Round[] = [];
  for (let r = 0; r < rounds; r++) {
    // Mostly while jobs run (0-250 ms after ready); every fifth round during start-up and enqueueing.
    const at = r % 5 === 4 ? -(50 + Math.floor(Math.random() * 300)) : Math.floor(Math.random() * 250);
    const round = await runWorker(args, at);
    round.finishedAtKill = finishedIds(log).size;
    kills.push(round);
  }
  const finishedBefore = finishedIds(log);
  await runWorker([...args, '--drain'], null);

  const rows = await readJobs();
  const finished = readFileSync(log, 'utf8').split('\n').filter(Boolean);
  const finishedSet = new Set(finished);
  assert.equal(rows.length, JOBS, 'every key enqueued exactly once');
  assert.deepEqual(new Set(rows.map((r) => r.key)), new Set(Array.from({ length: JOBS }, (_, i) => `job-${i}`)));
  const notDone = rows.filter((r) => r.status !== 'done');
  assert.deepEqual(notDone, [], 'no job lost or stuck');
  const doneWithoutFinishing = rows.filter((r) => !finishedSet.has(r.id));
  assert.deepEqual(doneWithoutFinishing, [], 'no job marked done whose handler did not finish');
  const unknown = [...finishedSet].filter((id) => !rows.some((r) => r.id === id));
  assert.deepEqual(unknown, []);
  const afterReady = kills.filter((k) => k.killedAfterReady).length;
  const reruns = finished.length - finishedSet.size;
  const midWork = kills.filter((k) => k.killedAfterReady && (k.finishedAtKill ?? 0) < JOBS).length;
  console.log(
    `# ${rounds} kill -9 rounds (${afterReady} after start-up, ${midWork} with jobs left), ${finishedBefore.size} jobs finished before the drain, ` +
      `${reruns} handler runs repeated after a crash (at-least-once), max attempts ${Math.max(...rows.map((r) => Number(r.attempts)))}`,
  );
  // The kills must have hit work in progress, or the test proves nothing.
  assert.ok(midWork >= Math.floor(rounds / 2), `only ${midWork} of ${rounds} kills hit a process with jobs left`);
  assert.ok(reruns > 0 || rows.some((r) => Number(r.attempts) > 1), 'some attempt was interrupted by a kill');
}

describe('job durability under kill -9', () => {
  it('SQLite: 0 jobs lost, none marked done that did not finish', { timeout: 120_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plinth-jobs-kill-'));
    const dataDir = join(dir, 'data');
    const log = join(dir, 'finished.log');
    try {
      const rounds = Number(process.env.PLINTH_JOBS_KILL_ROUNDS ?? 20);
      await tortureAndCheck(
        rounds,
        [`--dir=${dataDir}`, `--log=${log}`, `--jobs=${JOBS}`, `--work=${Math.max(10, rounds)}`],
        async () => {
          const db = new Database(join(dataDir, 'data.db'), { readonly: true });
          try {
            assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
            return db.prepare(`SELECT id, "key", status, attempts FROM "_jobs" WHERE name = 'work'`).all() as JobRow[];
          } finally {
            db.close();
          }
        },
        log,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('PostgreSQL: a killed node’s claims come back after the lease; 0 lost', { timeout: 120_000 }, async () => {
    const temp = await createTempDatabase();
    const dir = mkdtempSync(join(tmpdir(), 'plinth-jobs-kill-pg-'));
    const log = join(dir, 'finished.log');
    try {
      const rounds = Number(process.env.PLINTH_JOBS_KILL_ROUNDS ?? 8);
      await tortureAndCheck(
        rounds,
        [`--dir=${join(dir, 'data')}`, `--db=${temp.url}`, `--log=${log}`, `--jobs=${JOBS}`, '--lease=400', `--work=${Math.max(10, rounds * 5)}`],
        async () => {
          const c = new pg.Client({ connectionString: temp.url });
          await c.connect();
          try {
            return (await c.query(`SELECT id, "key", status, attempts FROM "_jobs" WHERE name = 'work'`)).rows as JobRow[];
          } finally {
            await c.end();
          }
        },
        log,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await temp.drop();
    }
  });
});
