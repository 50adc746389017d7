// Damage is never worked around in silence: a command that read around a bad copy, ran degraded or
// found its image cut short still succeeds, and says so on stderr (one line per kind); --strict makes
// it exit 1.

import assert from 'node:assert/strict';
import { truncate } from 'node:fs/promises';
import { open } from '../lib/index.js';
import { garbage, tempCopy, treeBlocks, writeAt } from './damage-helpers.js';
import { runCli } from './helpers/cli.js';
import { loadManifest } from './helpers/fixtures.js';

describe('warnings: damage read around is reported', function () {
  this.timeout(300_000);

  it('a bad DUP metadata copy: ls -R lists everything, warns once, and --strict exits 1', async () => {
    const t = await tempCopy('basic');
    try {
      const fs = await open(t.paths[0]!);
      let leaf;
      try {
        leaf = (await treeBlocks(fs.filesystem)).find((b) => b.tree === 5n && b.level === 0 && b.copies.length === 2);
      } finally {
        await fs.close();
      }
      assert.ok(leaf, 'basic has a DUP fs-tree leaf');
      writeAt(leaf.copies[0]!.device, leaf.copies[0]!.physical, garbage(4096, 3));
      const r = await runCli(['ls', '-R', t.paths[0]!, '/']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.toString().trim().split('\n').length, loadManifest('basic').entries.length);
      const warnings = r.stderr.trim().split('\n');
      assert.equal(warnings.length, 1, r.stderr);
      assert.match(warnings[0]!, new RegExp(`^btrfs-lens: warning: read around 1 bad copy .*block=${leaf.bytenr}`));
      const strict = await runCli(['ls', '-R', '--strict', t.paths[0]!, '/']);
      assert.equal(strict.code, 1, strict.stderr);
    } finally {
      await t.cleanup();
    }
  });

  it('a missing RAID1 member: reads succeed from the other copy, with a warning naming the device', async () => {
    const t = await tempCopy('raid1', [1]);
    try {
      const r = await runCli(['ls', '-R', t.paths[0]!, '/']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /^btrfs-lens: warning: degraded: devid 2 \(uuid [0-9a-f-]+\) is missing/m);
      assert.equal((await runCli(['ls', '-R', '--strict', t.paths[0]!, '/'])).code, 1);
    } finally {
      await t.cleanup();
    }
  });

  it('an image cut short: info says how much is missing', async () => {
    const t = await tempCopy('basic');
    try {
      const size = loadManifest('basic').devices[0]!.size;
      await truncate(t.paths[0]!, Math.floor(size / 2));
      const r = await runCli(['info', t.paths[0]!]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, new RegExp(`warning: .* is ${Math.floor(size / 2)} bytes, but devid 1 holds ${size}: the image is cut short`));
    } finally {
      await t.cleanup();
    }
  });

  it('a clean image warns of nothing', async () => {
    const t = await tempCopy('raid1');
    try {
      const r = await runCli(['ls', '-R', '--strict', t.paths[0]!, '/']);
      assert.equal(r.code, 0);
      assert.equal(r.stderr, '');
    } finally {
      await t.cleanup();
    }
  });
});
