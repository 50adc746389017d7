// The fuzzing loop: mutants numbered from 0, round-robin over the fixtures, each made from (seed,
// number) alone, run through open, a full walk, a read of every file and check in worker processes
// under a watchdog. Hangs, crashes and non-library errors are findings, saved once per signature.

import { CONTAINER_PREFIX, containerCorpusOf, mutateContainer } from './container-corpus.js';
import { corpusOf } from './corpus.js';
import { FuzzWorker, findingsOf, saveRegression, signature, type RunResult } from './harness.js';
import type { Mutation } from './mutation.js';
import { mutate } from './mutators.js';
import { hash32, Rng } from './rng.js';

export interface FuzzSummary {
  seed: string;
  seconds: number;
  mutants: number;
  perFixture: Record<string, number>;
  perMutator: Record<string, number>;
  /** How mutants ended: the first failing step and its code, or "clean". */
  outcomes: Record<string, number>;
  hangs: number;
  crashes: number;
  nonLibraryErrors: number;
  distinctFindings: string[];
  saved: string[];
  slowestMs: number;
}

export function mutationFor(seed: string, index: number, fixtures: string[]): Promise<Mutation> {
  const fixture = fixtures[index % fixtures.length]!;
  if (fixture.startsWith(CONTAINER_PREFIX)) return containerCorpusOf(fixture).then((c) => mutateContainer(new Rng(hash32(seed), index), c));
  return corpusOf(fixture).then((c) => mutate(new Rng(hash32(seed), index), c));
}

function outcomeOf(r: RunResult): string {
  if (r.kind !== 'done') return r.kind;
  const failed = Object.entries(r.steps).filter(([, v]) => v !== 'ok').map(([k, v]) => `${k}:${v}`);
  return failed.length ? failed.join(' ') : 'clean';
}

export async function fuzz(options: {
  seconds: number; seed: string; fixtures: string[]; jobs: number; timeoutMs: number; save: boolean; maxMutants?: number;
  /** Every this many mutants also runs the CLI commands (processes are slow; default 8). */
  cliEvery?: number;
  log?: (line: string) => void;
}): Promise<FuzzSummary> {
  const log = options.log ?? ((l: string) => process.stdout.write(l + '\n'));
  const summary: FuzzSummary = {
    seed: options.seed, seconds: 0, mutants: 0, perFixture: {}, perMutator: {}, outcomes: {}, hangs: 0, crashes: 0, nonLibraryErrors: 0,
    distinctFindings: [], saved: [], slowestMs: 0,
  };
  const started = Date.now();
  const deadline = started + options.seconds * 1000;
  const seen = new Set<string>();
  let next = 0;
  let lastReport = Date.now();
  const lane = async () => {
    const worker = new FuzzWorker();
    try {
      while (Date.now() < deadline && (options.maxMutants === undefined || next < options.maxMutants)) {
        const index = next++;
        const mutation = await mutationFor(options.seed, index, options.fixtures);
        // Some mutants also go through the CLI as a user runs it (slower: a process per command).
        const every = options.cliEvery ?? 8;
        const r = await worker.run(mutation, options.timeoutMs, every > 0 && index % every === every - 1);
        summary.mutants++;
        summary.perFixture[mutation.fixture] = (summary.perFixture[mutation.fixture] ?? 0) + 1;
        summary.perMutator[mutation.mutator] = (summary.perMutator[mutation.mutator] ?? 0) + 1;
        const o = outcomeOf(r);
        summary.outcomes[o] = (summary.outcomes[o] ?? 0) + 1;
        summary.slowestMs = Math.max(summary.slowestMs, r.ms);
        for (const f of findingsOf(r)) {
          if (f.kind === 'hang') summary.hangs++;
          else if (f.kind === 'crash') summary.crashes++;
          else summary.nonLibraryErrors++;
          const sig = signature(f.kind, f.finding);
          if (seen.has(sig)) continue;
          seen.add(sig);
          summary.distinctFindings.push(sig);
          log(`FINDING ${f.kind} on mutant ${index} (${mutation.fixture}, ${mutation.mutator}): ${mutation.description}`);
          if (f.finding) log(`  ${f.finding.step}: ${f.finding.name}: ${f.finding.message}\n  ${f.finding.stack.split('\n').slice(1, 6).join('\n  ')}`);
          if (options.save) {
            const path = saveRegression({
              found: { kind: f.kind, step: f.finding?.step ?? 'watchdog', error: f.finding ? `${f.finding.name}: ${f.finding.message}` : `no answer in ${options.timeoutMs} ms`, stack: f.finding?.stack ?? '', seed: options.seed, mutant: index },
              mutation,
            });
            summary.saved.push(path);
            log(`  saved ${path}`);
          }
        }
        if (Date.now() - lastReport > 60_000) {
          lastReport = Date.now();
          log(`[${Math.round((Date.now() - started) / 1000)}s] ${summary.mutants} mutants, ${summary.hangs} hangs, ${summary.crashes} crashes, ${summary.nonLibraryErrors} non-library errors`);
        }
      }
    } finally {
      worker.stop();
    }
  };
  await Promise.all(Array.from({ length: options.jobs }, lane));
  summary.seconds = Math.round((Date.now() - started) / 1000);
  return summary;
}

