// The committed fixtures are consistent: manifests validate and describe what is in each folder, and
// every image decompresses to the size and sha256 the manifest recorded.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { FIXTURES_DIR, fixtureImages, fixtureNames, loadManifest } from './helpers/fixtures.js';
import type { EntryType } from './helpers/manifest.js';

const S_IFMT = 0o170000;
const TYPE_BITS: Record<EntryType, number> = {
  file: 0o100000,
  dir: 0o040000,
  symlink: 0o120000,
  fifo: 0o010000,
  chr: 0o020000,
  blk: 0o060000,
  sock: 0o140000,
};
/** Tool outputs every fixture folder has besides its manifest and images. */
const TOOL_OUTPUTS = ['compsize.txt', 'du-s.txt', 'du.txt', 'dump-tree.txt.gz'];
/**
 * Extra entries a fixture folder may have: quota's qgroup-show.txt, and progs/ (btrfs-progs outputs for
 * more dump options, written by fixtures/record-progs-dumps.sh from the committed images), and
 * progs-resolve/ (the kernel's logical-resolve and inode-resolve answers, by fixtures/record-resolve.sh).
 */
const OPTIONAL_OUTPUTS = new Set(['qgroup-show.txt', 'progs', 'progs-resolve']);
const MAX_TOTAL_BYTES = 20 * 1024 * 1024;

function byteCompare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function parentOf(p: string): string {
  const i = p.lastIndexOf('/');
  return i === 0 ? '/' : p.slice(0, i);
}

function folderBytes(dir: string): number {
  let total = 0;
  for (const d of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, d.name);
    if (d.isDirectory()) total += folderBytes(p);
    else total += fs.lstatSync(p).size;
  }
  return total;
}

async function sha256OfFile(file: string): Promise<string> {
  const h = crypto.createHash('sha256');
  await pipeline(fs.createReadStream(file, { highWaterMark: 1 << 20 }), h);
  return h.digest('hex');
}

describe('fixtures', () => {
  const names = fixtureNames();

  it('exist', () => {
    assert.ok(names.length > 0, `no fixtures with a manifest.json in ${FIXTURES_DIR}`);
  });

  it('fixtures/ without .cache stays under 20 MiB', () => {
    let total = 0;
    for (const d of fs.readdirSync(FIXTURES_DIR, { withFileTypes: true })) {
      if (d.name === '.cache') continue;
      const p = path.join(FIXTURES_DIR, d.name);
      total += d.isDirectory() ? folderBytes(p) : fs.lstatSync(p).size;
    }
    assert.ok(total < MAX_TOTAL_BYTES, `fixtures/ holds ${total} bytes`);
  });

  for (const name of names) {
    describe(name, () => {
      it('manifest validates and names its folder', () => {
        const m = loadManifest(name);
        assert.equal(m.name, name);
      });

      it('devices are numbered by devid and the partition fits the disk', () => {
        const m = loadManifest(name);
        const devids = m.devices.map((d) => d.devid).sort((a, b) => a - b);
        assert.deepEqual(devids, devids.map((_, i) => i + 1));
        if (m.devices.length === 1) {
          assert.equal(m.devices[0]!.file, `${name}.img.gz`);
        } else {
          for (const d of m.devices) assert.equal(d.file, `dev${d.devid}.img.gz`);
        }
        if (m.partition) {
          assert.equal(m.devices.length, 1);
          assert.ok(m.partition.offset + m.partition.size <= m.devices[0]!.size);
        }
      });

      it('the folder holds exactly the manifest, its images and the tool outputs', () => {
        const m = loadManifest(name);
        const present = fs.readdirSync(path.join(FIXTURES_DIR, name)).sort();
        const superFile = present.includes('dump-super.txt.gz') ? 'dump-super.txt.gz' : 'dump-super.txt';
        const expected = ['manifest.json', superFile, ...TOOL_OUTPUTS, ...m.devices.map((d) => d.file)];
        const extra = present.filter((f) => !expected.includes(f));
        assert.deepEqual(
          extra.filter((f) => !OPTIONAL_OUTPUTS.has(f)),
          [],
          'unexpected files',
        );
        assert.deepEqual(
          expected.filter((f) => !present.includes(f)),
          [],
          'missing files',
        );
      });

      it('entry paths are unique, byte-sorted, rooted at / and every parent is a directory', () => {
        const m = loadManifest(name);
        const byPath = new Map(m.entries.map((e) => [e.path, e]));
        assert.equal(byPath.size, m.entries.length, 'duplicate paths');
        assert.equal(m.entries[0]!.path, '/');
        assert.equal(m.entries[0]!.type, 'dir');
        for (let i = 1; i < m.entries.length; i++) {
          const e = m.entries[i]!;
          assert.ok(byteCompare(m.entries[i - 1]!.path, e.path) < 0, `not sorted at ${e.path}`);
          assert.ok(!/\/\.\.?(?:\/|$)/.test(e.path), `. or .. in ${e.path}`);
          const parent = byPath.get(parentOf(e.path));
          assert.ok(parent, `no parent for ${e.path}`);
          assert.equal(parent.type, 'dir', `parent of ${e.path} is not a directory`);
        }
      });

      it('type-specific fields are present exactly where they belong', () => {
        const m = loadManifest(name);
        for (const e of m.entries) {
          const where = `${name}:${e.path}`;
          assert.equal(e.mode & S_IFMT, TYPE_BITS[e.type], `mode/type mismatch at ${where}`);
          assert.equal(e.sha256 !== undefined, e.type === 'file', `sha256 at ${where}`);
          assert.equal(e.target !== undefined, e.type === 'symlink', `target at ${where}`);
          assert.equal(e.rdev !== undefined, e.type === 'chr' || e.type === 'blk', `rdev at ${where}`);
          if (e.type === 'symlink') assert.equal(e.size, Buffer.byteLength(e.target!, 'utf8'), `size at ${where}`);
          if (e.type === 'dir') assert.equal(e.nlink, 1, `Btrfs directories have nlink 1 (${where})`);
        }
      });

      it('subvolumes are consistent with the entries', () => {
        const m = loadManifest(name);
        const ids = new Set([5, ...m.subvolumes.map((s) => s.id)]);
        assert.equal(ids.size, m.subvolumes.length + 1, 'duplicate subvolume id');
        const uuids = new Set(m.subvolumes.map((s) => s.uuid));
        for (const s of m.subvolumes) {
          assert.ok(ids.has(s.parent), `subvolume ${s.id}: unknown parent ${s.parent}`);
          if (s.parent_uuid !== null && uuids.has(s.parent_uuid)) {
            assert.notEqual(s.parent_uuid, s.uuid);
          }
          const root = m.entries.find((e) => e.path === `/${s.path}`);
          assert.ok(root, `subvolume ${s.id} path /${s.path} not among the entries`);
          assert.equal(root.type, 'dir');
          assert.equal(root.ino, 256, `subvolume ${s.id} root inode`);
          assert.equal(root.subvol, s.id);
        }
        for (const e of m.entries) assert.ok(ids.has(e.subvol), `${e.path}: unknown subvolume ${e.subvol}`);
        if (m.default_subvol !== undefined) assert.ok(ids.has(m.default_subvol), 'default_subvol');
      });

      it('log_tree_only names paths consistently with the committed entries', () => {
        const m = loadManifest(name);
        const paths = new Set(m.entries.map((e) => e.path));
        for (const l of m.log_tree_only) {
          assert.equal(paths.has(l.path), l.change === 'modified', `${l.path} (${l.change})`);
          assert.equal(l.sha256 !== undefined, l.type === 'file', `sha256 at ${l.path}`);
        }
      });

      it('images decompress to the recorded size and sha256', async function () {
        this.timeout(600_000);
        const m = loadManifest(name);
        const images = await fixtureImages(name);
        const devices = [...m.devices].sort((a, b) => a.devid - b.devid);
        assert.equal(images.length, devices.length);
        for (const [i, dev] of devices.entries()) {
          const file = images[i]!;
          assert.equal(path.basename(file), dev.file.replace(/\.gz$/, ''));
          assert.equal(fs.statSync(file).size, dev.size, `${dev.file} size`);
          assert.equal(await sha256OfFile(file), dev.sha256, `${dev.file} sha256`);
        }
      });
    });
  }
});
