// npm run fuzz -- --seconds N [--seed S] [--fixtures a,b] [--jobs J] [--timeout MS] [--cli-every K] [--no-save] [--json FILE]
//
// Fuzz fixture images for N seconds (see fuzzer.ts). A hang, a crash or a non-library error is
// printed and saved as a regression case under test/fuzz/regressions/. Exit 1 when anything was found.

import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { fixtureNames } from '../helpers/fixtures.js';
import { fuzz } from './fuzzer.js';
import { CONTAINER_PREFIX, FUZZ_CONTAINERS } from './container-corpus.js';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '60' },
      seed: { type: 'string' },
      fixtures: { type: 'string' },
      jobs: { type: 'string', default: '1' },
      timeout: { type: 'string', default: '60000' },
      'no-save': { type: 'boolean', default: false },
      'cli-every': { type: 'string', default: '8' },
      json: { type: 'string' },
    },
  });
  const all = [...fixtureNames(), ...FUZZ_CONTAINERS.map((n) => CONTAINER_PREFIX + n)];
  const fixtures = values.fixtures ? values.fixtures.split(',').filter((f) => all.includes(f)) : all;
  if (!fixtures.length) throw new Error(`no such fixtures: ${values.fixtures}`);
  const seed = values.seed ?? String(Date.now());
  const seconds = Number(values.seconds);
  process.stdout.write(`fuzzing ${fixtures.length} fixture(s) for ${seconds}s, seed ${seed}\n`);
  const summary = await fuzz({
    seconds, seed, fixtures, jobs: Math.max(1, Number(values.jobs)), timeoutMs: Number(values.timeout), save: !values['no-save'], cliEvery: Number(values['cli-every']),
  });
  const lines = [
    `seed ${summary.seed}: ${summary.mutants} mutants in ${summary.seconds}s (${(summary.mutants / Math.max(1, summary.seconds)).toFixed(2)}/s), slowest ${summary.slowestMs} ms`,
    `findings: ${summary.hangs} hangs, ${summary.crashes} crashes, ${summary.nonLibraryErrors} non-library errors (${summary.distinctFindings.length} distinct)`,
    `per fixture: ${Object.entries(summary.perFixture).map(([k, v]) => `${k} ${v}`).join(', ')}`,
    `per mutator: ${Object.entries(summary.perMutator).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ')}`,
    'outcomes (first failing steps):',
    ...Object.entries(summary.outcomes).sort((a, b) => b[1] - a[1]).slice(0, 25).map(([k, v]) => `  ${String(v).padStart(6)} ${k}`),
  ];
  process.stdout.write(lines.join('\n') + '\n');
  if (values.json) {
    writeFileSync(values.json, JSON.stringify(summary, null, 2) + '\n');
  }
  process.exitCode = summary.distinctFindings.length ? 1 : 0;
}

main().catch((e: unknown) => {
  process.stderr.write(`fuzz: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exitCode = 2;
});
