// dump-super and dump-tree as a user runs them: the built CLI, its exit codes, its JSON on stdout,
// multi-device arguments. The outputs themselves are checked option by option in dump.test.ts.

process.env.TZ = 'UTC';

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { dumpSuperDocumentSchema, dumpTreeDocumentSchema, renderDumpSuper, renderDumpTree } from '../lib/dump/index.js';
import { EXIT } from '../cli/common.js';
import { runCli } from './helpers/cli.js';
import { FIXTURES_DIR, fixtureImages } from './helpers/fixtures.js';

function golden(name: string, file: string): string {
  const raw = fs.readFileSync(path.join(FIXTURES_DIR, name, file));
  return (file.endsWith('.gz') ? gunzipSync(raw) : raw).toString('latin1');
}

function sameDevices(text: string): string {
  return text.replace(/^(superblock: bytenr=\d+, device=).*$/gm, '$1<device>');
}

describe('dump CLI', function () {
  it('dump-tree of a three-device RAID5 prints what progs printed, exit 0', async () => {
    const images = await fixtureImages('raid5');
    const r = await runCli(['dump-tree', ...images]);
    assert.equal(r.stderr, '');
    assert.equal(r.code, EXIT.OK);
    assert.ok(r.stdout.toString('latin1') === golden('raid5', 'dump-tree.txt.gz'), 'stdout differs from dump-tree.txt.gz');
  });

  it('dump-super -f -a prints what progs printed', async () => {
    const [image] = await fixtureImages('basic');
    const r = await runCli(['dump-super', '-f', '-a', image!]);
    assert.equal(r.code, EXIT.OK, r.stderr);
    assert.equal(sameDevices(r.stdout.toString('latin1')), sameDevices(golden('basic', 'dump-super.txt')));
  });

  it('dump-super finds the Btrfs partition of a whole-disk image', async () => {
    const [image] = await fixtureImages('gpt');
    const r = await runCli(['dump-super', '-f', '-a', image!]);
    assert.equal(r.code, EXIT.OK, r.stderr);
    assert.equal(sameDevices(r.stdout.toString('latin1')), sameDevices(golden('gpt', 'dump-super.txt')));
  });

  it('dump-tree --json is the schema\'s document and renders to progs\' text', async () => {
    const images = await fixtureImages('log-tree');
    const r = await runCli(['dump-tree', '--json', ...images]);
    assert.equal(r.code, EXIT.OK, r.stderr);
    const doc = dumpTreeDocumentSchema.parse(JSON.parse(r.stdout.toString('utf8')));
    assert.equal(renderDumpTree(doc).stdout, golden('log-tree', 'dump-tree.txt.gz'));
    // u64 values are decimal strings, even small ones.
    const tree = doc.sections.find((s) => s.kind === 'tree');
    assert.equal(typeof (tree as { root: { bytenr: unknown } }).root.bytenr, 'string');
  });

  it('dump-super --json is the schema\'s document', async () => {
    const [image] = await fixtureImages('quota');
    const r = await runCli(['dump-super', '--json', '-a', image!]);
    assert.equal(r.code, EXIT.OK, r.stderr);
    const doc = dumpSuperDocumentSchema.parse(JSON.parse(r.stdout.toString('utf8')));
    assert.equal(doc.devices[0]!.copies.length, 3);
    assert.equal(doc.devices[0]!.copies[0]!.superblock?.csum_match, true);
    assert.ok(renderDumpSuper(doc).stdout.startsWith(`superblock: bytenr=65536, device=${image}\n`));
  });

  it('a tree name progs does not know is a usage error naming it', async () => {
    const [image] = await fixtureImages('basic');
    const r = await runCli(['dump-tree', '-t', 'block_group', image!]);
    assert.equal(r.code, EXIT.USAGE);
    assert.match(r.stderr, /unrecognized tree id: block_group/);
    const s = await runCli(['dump-tree', '-t', 'fsx', image!]);
    assert.equal(s.code, EXIT.USAGE);
    assert.match(s.stderr, /unexpected tree id suffix of 'fsx': x/);
  });

  it('-b of an address that is not a tree block prints progs\' text and reports the failure', async () => {
    const [image] = await fixtureImages('basic');
    const r = await runCli(['dump-tree', '-b', '4096', image!]);
    assert.equal(r.stdout.toString('latin1'), 'btrfs-progs v6.2\n');
    assert.match(r.stderr, /failed to read tree block 4096/);
    assert.equal(r.code, EXIT.PROBLEMS);
  });

  it('-t tree_log without a log tree says so, as progs does', async () => {
    const [image] = await fixtureImages('basic');
    const r = await runCli(['dump-tree', '-t', 'tree_log', image!]);
    assert.equal(r.stdout.toString('latin1'), 'btrfs-progs v6.2\n');
    assert.match(r.stderr, /ERROR: cannot print log root tree, invalid pointer/);
  });
});
