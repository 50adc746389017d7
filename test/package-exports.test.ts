// The package's public entry points, imported by name as a user of the package would: the reader
// and the emulator together give what the command line gives.

import assert from 'node:assert/strict';
import { runCli } from './helpers/cli.js';
import { fixtureImages } from './helpers/fixtures.js';

describe('package exports', () => {
  it("'btrfs-lens' opens an image and 'btrfs-lens/emulate' runs a workload on it, as `emulate --json` does", async () => {
    const { open } = await import('btrfs-lens');
    const { emulate, readAll } = await import('btrfs-lens/emulate');
    const [image] = await fixtureImages('snapshots');
    const fs = await open(image!);
    let report;
    try {
      report = await emulate(fs, 'read-all', readAll(fs));
    } finally {
      await fs.close();
    }
    const cli = await runCli(['emulate', image!, '--workload', 'read-all', '--policy', 'both', '--json']);
    assert.equal(cli.code, 0, cli.stderr.toString());
    const want = JSON.parse(cli.stdout.toString()) as Record<string, unknown>;
    assert.deepEqual(report['per-inode' as keyof typeof report], want['per-inode']);
    assert.deepEqual(report['logical' as keyof typeof report], want['logical']);
    const { Filesystem } = await import('btrfs-lens/inspect');
    const raw = await Filesystem.open([image!]);
    try {
      assert.equal(raw.superblock.sectorsize, want['sectorsize']);
    } finally {
      await raw.close();
    }
  });
});
