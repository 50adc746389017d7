// Hostile images: a fixed-seed slice of the fuzzer over every fixture, and every saved regression
// case replayed. Each mutant runs open, a full walk, a read of every file and check in a worker under
// a watchdog (one in sixteen also through the CLI); the only failures are hangs, crashes and errors
// that are not the library's own.

import assert from 'node:assert/strict';
import { fixtureNames } from './helpers/fixtures.js';
import { CONTAINER_PREFIX, FUZZ_CONTAINERS } from './fuzz/container-corpus.js';
import { fuzz } from './fuzz/fuzzer.js';
import { FuzzWorker, findingsOf, loadRegressions } from './fuzz/harness.js';

/** Mutants per fixture in the slice: the whole slice stays well under two minutes. */
const PER_FIXTURE = 12;
const TIMEOUT_MS = 60_000;

describe('fuzz: hostile images never crash, hang or leak a non-library error', function () {
  this.timeout(600_000);

  it(`a fixed-seed slice of ${PER_FIXTURE} mutants per fixture covers every fixture with no finding`, async () => {
    // The fixture images, and the containers (qcow2, E01, VMDK, VHD, VHDX, split raw) holding them.
    const fixtures = [...fixtureNames(), ...FUZZ_CONTAINERS.map((n) => CONTAINER_PREFIX + n)];
    const lines: string[] = [];
    const summary = await fuzz({
      seconds: 3600, seed: 'npm-test-slice', fixtures, jobs: 1, timeoutMs: TIMEOUT_MS, save: false,
      maxMutants: PER_FIXTURE * fixtures.length, cliEvery: 16, log: (l) => lines.push(l),
    });
    assert.deepEqual(Object.keys(summary.perFixture).sort(), [...fixtures].sort(), 'every fixture is mutated');
    assert.equal(summary.mutants, PER_FIXTURE * fixtures.length);
    assert.deepEqual(summary.distinctFindings, [], lines.join('\n'));
  });

  const regressions = loadRegressions();
  it(`replays the ${regressions.length} saved regression case(s) with no finding`, async () => {
    const worker = new FuzzWorker();
    const failures: string[] = [];
    try {
      for (const { file, regression } of regressions) {
        const r = await worker.run(regression.mutation, TIMEOUT_MS, true);
        for (const f of findingsOf(r)) failures.push(`${file}: ${f.kind}${f.finding ? ` ${f.finding.step}: ${f.finding.name}: ${f.finding.message}` : ''}`);
      }
    } finally {
      worker.stop();
    }
    assert.deepEqual(failures, []);
  });
});
