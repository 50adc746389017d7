// The runner's side: one worker process per lane, a watchdog per mutant (a worker that does not answer
// in time is killed and the mutant recorded as a hang), a new worker after a hang or a crash, and
// findings written as regression cases that test/fuzz.test.ts replays.

import { fork, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Mutation } from './mutation.js';
import type { Finding } from './target.js';
import type { FromWorker, ToWorker } from './worker.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const WORKER = join(HERE, 'worker.js');
const SCRATCH = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
let workers = 0;
/** Regression cases live in the source tree (this file runs from dist/test/fuzz/). */
export const REGRESSIONS_DIR = join(HERE, '..', '..', '..', 'test', 'fuzz', 'regressions');

export type RunResult =
  | { kind: 'done'; steps: Record<string, string>; findings: Finding[]; ms: number }
  | { kind: 'hang'; ms: number }
  | { kind: 'crash'; finding: Finding; ms: number };

export class FuzzWorker {
  private child: ChildProcess | undefined;
  private ready: Promise<void> | undefined;
  private waiting: ((m: FromWorker | { type: 'exit'; code: number | null; signal: string | null }) => void) | undefined;
  private nextId = 1;

  constructor(private readonly memoryMb = 1536) {}

  private start(): Promise<void> {
    // The runner names the worker's scratch folder and removes it when the worker exits: a worker
    // killed for a hang (SIGKILL) cannot clean up after itself, and each left ~70 MiB in /dev/shm.
    const scratch = join(SCRATCH, `btrfs-lens-fuzz-${process.pid}-${++workers}`);
    const child = fork(WORKER, [scratch], { execArgv: [`--max-old-space-size=${this.memoryMb}`], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    this.child = child;
    // A worker's stderr is only interesting when it dies; keep the tail.
    let tail = '';
    child.stderr?.on('data', (d: Buffer) => { tail = (tail + d.toString()).slice(-4000); });
    this.ready = new Promise((resolve, reject) => {
      child.once('message', (m: FromWorker) => (m.type === 'ready' ? resolve() : reject(new Error('worker did not start'))));
      child.once('exit', (code) => reject(new Error(`worker exited (${code}) before it was ready: ${tail}`)));
    });
    child.on('message', (m: FromWorker) => this.waiting?.(m));
    child.on('exit', (code, signal) => {
      rmSync(scratch, { recursive: true, force: true });
      if (this.child === child) this.child = undefined;
      this.waiting?.({ type: 'exit', code, signal: signal ?? (tail ? `stderr: ${tail.slice(-500)}` : null) });
    });
    return this.ready;
  }

  async run(mutation: Mutation, timeoutMs: number, cli = false): Promise<RunResult> {
    if (!this.child) await this.start();
    else await this.ready;
    const child = this.child!;
    const id = this.nextId++;
    const start = Date.now();
    return new Promise<RunResult>((resolve) => {
      const finish = (r: RunResult) => {
        clearTimeout(timer);
        this.waiting = undefined;
        resolve(r);
      };
      const timer = setTimeout(() => {
        this.waiting = undefined;
        child.kill('SIGKILL');
        this.child = undefined;
        resolve({ kind: 'hang', ms: Date.now() - start });
      }, timeoutMs);
      this.waiting = (m) => {
        if (m.type === 'result' && m.id === id) finish({ kind: 'done', steps: m.steps, findings: m.findings, ms: m.ms });
        else if (m.type === 'crash') finish({ kind: 'crash', finding: m.finding, ms: Date.now() - start });
        else if (m.type === 'exit') {
          finish({ kind: 'crash', ms: Date.now() - start, finding: { step: 'process', name: 'exit', message: `worker died: code ${m.code} ${m.signal ?? ''}`.trim(), stack: '' } });
        }
      };
      child.send({ type: 'run', id, mutation, cli } satisfies ToWorker);
    });
  }

  stop(): void {
    this.child?.kill('SIGKILL');
    this.child = undefined;
  }
}

export interface Regression {
  /** What went wrong when it was found: kind, error and the top of its stack. */
  found: { kind: 'hang' | 'crash' | 'non-library-error'; step: string; error: string; stack: string; seed?: string; mutant?: number };
  mutation: Mutation;
}

/** A short signature so that one bug found a thousand times is saved once. */
export function signature(kind: string, f?: Finding): string {
  if (!f) return kind;
  const frame = f.stack.split('\n').find((l) => /\/(lib|cli)\/.*:\d+/.test(l));
  // Without a frame of ours (a CLI's stderr, a hang) the message, numbers dropped, tells bugs apart.
  const where = frame ? frame.replace(/:\d+\)?$/, '').trim() : `${f.step} ${f.message.replace(/\d+/g, 'N').slice(0, 120)}`;
  return `${kind}|${f.name}|${where}`;
}

export function findingsOf(r: RunResult): Array<{ kind: Regression['found']['kind']; finding?: Finding }> {
  if (r.kind === 'hang') return [{ kind: 'hang' }];
  if (r.kind === 'crash') return [{ kind: 'crash', finding: r.finding }];
  return r.findings.map((f) => ({ kind: 'non-library-error' as const, finding: f }));
}

export function saveRegression(reg: Regression, dir = REGRESSIONS_DIR): string {
  mkdirSync(dir, { recursive: true });
  const id = createHash('sha256').update(JSON.stringify(reg.mutation)).digest('hex').slice(0, 12);
  const path = join(dir, `${reg.mutation.fixture}-${reg.found.kind}-${id}.json`);
  writeFileSync(path, JSON.stringify(reg, null, 2) + '\n');
  return path;
}

export function loadRegressions(dir = REGRESSIONS_DIR): Array<{ file: string; regression: Regression }> {
  let names: string[] = [];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.json')).sort();
  } catch {
    return [];
  }
  return names.map((n) => ({ file: n, regression: JSON.parse(readFileSync(join(dir, n), 'utf8')) as Regression }));
}
