// `btrfs-lens du` against what `btrfs filesystem du --raw` printed on each mounted fixture (du.txt for
// the whole mount, du-s.txt with -s for every top-level entry): same lines, same order, same numbers.
// When a line differs, the failure names the file and lists the FIEMAP extents we computed for it.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { BackrefContext } from '../lib/backref/context.js';
import { open } from '../lib/index.js';
import { extentMap } from '../lib/fs/extent-map.js';
import { fiemap, FiemapFlag } from '../lib/usage/fiemap.js';
import { fixed2, prettySize } from '../lib/usage/units.js';
import { unionBytes } from '../lib/usage/du.js';
import { runCli } from './helpers/cli.js';
import { FIXTURES_DIR, fixtureImages, fixtureNames, loadManifest } from './helpers/fixtures.js';

async function imageArgs(name: string): Promise<string[]> {
  const images = await fixtureImages(name);
  const m = loadManifest(name);
  const args = [images[0]!, ...images.slice(1).flatMap((d) => ['--device', d])];
  if (m.partition) args.push('--partition', String(m.partition.number));
  return args;
}

/** Top-level entries as the generator listed them: find -printf '%P\0' | sort -z (byte order). */
function topLevelNames(name: string): string[] {
  return loadManifest(name)
    .entries.filter((e) => e.path !== '/' && e.path.lastIndexOf('/') === 0)
    .map((e) => e.path.slice(1))
    .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

/** Where our output and the tool's disagree, with the extents behind each differing file. */
async function explain(name: string, got: string, want: string, relativeTo: string): Promise<string> {
  const g = got.split('\n');
  const w = want.split('\n');
  const lines: string[] = [];
  const paths: string[] = [];
  for (let i = 0; i < Math.max(g.length, w.length) && lines.length < 20; i++) {
    if (g[i] === w[i]) continue;
    lines.push(`line ${i + 1}: btrfs-lens "${g[i] ?? ''}", btrfs fi du "${w[i] ?? ''}"`);
    const p = (w[i] ?? g[i] ?? '').slice(36);
    if (p) paths.push(p);
  }
  const images = await fixtureImages(name);
  const part = loadManifest(name).partition;
  const fsys = await open(images[0]!, { devices: images.slice(1), ...(part ? { partition: part.number } : {}) });
  try {
    const ctx = await BackrefContext.create(fsys.filesystem);
    for (const p of paths.slice(0, 5)) {
      const target = path.posix.join(relativeTo, p);
      const st = await fsys.lstat(target, { bigint: true }).catch(() => undefined);
      if (!st?.isFile()) continue;
      const node = await fsys.node(target, false);
      const exts = await fiemap(ctx, await fsys.tree(node.subvol), node.ino);
      lines.push(`  ${p} (subvol ${node.subvol} ino ${node.ino}) extents:`);
      for (const e of exts) {
        lines.push(`    file ${e.logical} +${e.length} physical ${e.physical} flags 0x${e.flags.toString(16)}${e.flags & FiemapFlag.SHARED ? ' shared' : ''}`);
      }
    }
  } finally {
    await fsys.close();
  }
  return `${name}: du differs from btrfs filesystem du:\n${lines.join('\n')}`;
}

describe('du', () => {
  for (const name of fixtureNames()) {
    describe(name, () => {
      it('equals btrfs filesystem du --raw of the whole mount (du.txt)', async () => {
        const want = fs.readFileSync(path.join(FIXTURES_DIR, name, 'du.txt'), 'utf8');
        const r = await runCli(['du', ...(await imageArgs(name)), '--raw', '.']);
        assert.equal(r.code, 0, r.stderr);
        const got = r.stdout.toString('utf8');
        if (got !== want) assert.fail(await explain(name, got, want, '/'));
      });

      it('equals btrfs filesystem du -s --raw of every top-level entry (du-s.txt)', async () => {
        const want = fs.readFileSync(path.join(FIXTURES_DIR, name, 'du-s.txt'), 'utf8');
        const r = await runCli(['du', ...(await imageArgs(name)), '-s', '--raw', '--', ...topLevelNames(name)]);
        assert.equal(r.code, 0, r.stderr);
        const got = r.stdout.toString('utf8');
        if (got !== want) assert.fail(await explain(name, got, want, '/'));
      });
    });
  }

  describe("map's shared flag is FIEMAP's", () => {
    for (const name of ['basic', 'zlib', 'snapshots', 'quota', 'old-format']) {
      it(`${name}: the exclusive bytes of every file in du.txt are those map does not mark shared`, async () => {
        const images = await fixtureImages(name);
        const btrfs = await open(images[0]!, { devices: images.slice(1) });
        try {
          const diffs: string[] = [];
          for (const line of fs.readFileSync(path.join(FIXTURES_DIR, name, 'du.txt'), 'utf8').trimEnd().split('\n').slice(1)) {
            const [total, excl] = line.trim().split(/\s+/);
            const p = line.slice(36).replace(/^\./, '');
            if (p === '' || !(await btrfs.lstat(p)).isFile()) continue;
            let t = 0n;
            let x = 0n;
            for (const e of (await extentMap(btrfs, p)).extents) {
              if (e.kind !== 'regular' && e.kind !== 'prealloc') continue;
              t += e.length;
              if (!e.shared) x += e.length;
            }
            if (t !== BigInt(total!) || x !== BigInt(excl!)) diffs.push(`${p}: map total ${t} exclusive ${x}, du ${total} ${excl}`);
          }
          assert.deepEqual(diffs, []);
        } finally {
          await btrfs.close();
        }
      });
    }
  });

  describe('figures', () => {
    it('JSON rows carry the same numbers as the text', async () => {
      const args = await imageArgs('snapshots');
      const text = (await runCli(['du', ...args, '--raw', '-s', 'vol', 'snap-rw'])).stdout.toString('utf8');
      const json = JSON.parse((await runCli(['du', ...args, '--json', '-s', 'vol', 'snap-rw'])).stdout.toString('utf8')) as Array<{ path: string; rows: Array<{ path: string; total: string; exclusive: string; set_shared: string }> }>;
      const fromJson = json.flatMap((a) => a.rows).map((x) => `${x.total.padStart(10)}  ${x.exclusive.padStart(10)}  ${x.set_shared.padStart(10)}  ${x.path}`);
      assert.deepEqual(text.trimEnd().split('\n').slice(1), fromJson);
    });

    it('a missing argument is reported and the others still printed', async () => {
      const r = await runCli(['du', ...(await imageArgs('snapshots')), '--raw', '-s', 'no-such', 'dedup']);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /cannot check space of 'no-such'.*ENOENT/);
      assert.match(r.stdout.toString('utf8'), /\n\s+524288\s+0\s+262144\s+dedup\n$/);
    });

    it('the set of shared bytes is the size of a union of ranges', () => {
      assert.equal(unionBytes([]), 0n);
      assert.equal(unionBytes([[0n, 10n], [5n, 10n], [20n, 5n], [25n, 1n], [100n, 1n]]), 22n);
      assert.equal(unionBytes([[10n, 100n], [0n, 5n], [20n, 5n]]), 105n);
    });
  });

  describe('units', () => {
    // What btrfs filesystem du printed for these sizes on a mounted fixture (human-readable default).
    const seen: Array<[bigint, string]> = [
      [0n, '0.00B'], [131072n, '128.00KiB'], [3145728n, '3.00MiB'], [303104n, '296.00KiB'], [434176n, '424.00KiB'],
      [4014080n, '3.83MiB'], [868352n, '848.00KiB'], [319488n, '312.00KiB'], [8929280n, '8.52MiB'], [2498560n, '2.38MiB'],
    ];
    for (const [size, text] of seen) {
      it(`${size} prints as ${text}`, () => assert.equal(prettySize(size), text));
    }

    it('raw, decimal and fixed units', () => {
      assert.equal(prettySize(123456789n, { raw: true }), '123456789');
      assert.equal(prettySize(1000n, { base: 'decimal' }), '1.00kB');
      assert.equal(prettySize(999n, { base: 'decimal' }), '999.00B');
      assert.equal(prettySize(1048576n, { scale: 'kbytes' }), '1024.00KiB');
      assert.equal(prettySize(512n, { scale: 'mbytes' }), '0.00MiB');
    });

    it('%.2f rounds the exact binary value half to even, as glibc does', () => {
      assert.equal(fixed2(1.125), '1.12');
      assert.equal(fixed2(1.375), '1.38');
      assert.equal(fixed2(Math.fround(0.005)), '0.00'); // the float nearest 0.005 is below it
      assert.equal(prettySize(1152n), '1.12KiB');
    });
  });
});
