// The reader against the kernel: for every fixture, the whole tree through the public API and
// through the CLI must be exactly what the mounted kernel showed (the manifest).

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { lstat, mkdtemp, readFile, readlink, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { entryInfo, type EntryInfo } from '../lib/fs/entry-info.js';
import { walk } from '../lib/fs/walk.js';
import { open } from '../lib/index.js';
import { runCli } from './helpers/cli.js';
import { assertNoDiffs, diffEntries } from './helpers/compare.js';
import { fixtureImages, fixtureNames, loadManifest } from './helpers/fixtures.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Can the filesystem we extract to hold this mtime? (ext4 stops at 1901 and 2446.) */
async function hostStoresTime(dir: string, ms: number): Promise<boolean> {
  const probe = join(dir, '.time-probe');
  await writeFile(probe, '');
  try {
    await utimes(probe, new Date(ms), new Date(ms));
    return Math.abs((await stat(probe)).mtimeMs - ms) <= 1;
  } finally {
    await rm(probe);
  }
}

for (const name of fixtureNames()) {
  describe(`reader: ${name}`, function () {
    this.timeout(600_000);
    const manifest = loadManifest(name);
    let images: string[] = [];
    before(async () => {
      images = await fixtureImages(name);
    });

    it('the API walk shows exactly the manifest: paths, stat, times, targets, devices, xattrs, content', async () => {
      // Only the first image is given: other members are found beside it, partitions are detected.
      const fs = await open(images[0]!);
      try {
        const got: EntryInfo[] = [];
        const content: string[] = [];
        for await (const e of walk(fs, '/', { follow: false })) {
          got.push(await entryInfo(fs, e));
          if (e.kind === 'file') {
            const want = manifest.entries.find((m) => m.path === e.path);
            const data = await fs.readFile(e.path);
            if (want && sha256(data) !== want.sha256) content.push(`${e.path}: content sha256 differs`);
          }
        }
        assertNoDiffs(diffEntries(got, manifest.entries), 'API walk');
        assertNoDiffs(content, 'API content');
      } finally {
        await fs.close();
      }
    });

    it('every file read at once (readers share one filesystem and its buffers) has the kernel\'s content', async () => {
      const fs = await open(images[0]!);
      try {
        const files = manifest.entries.filter((m) => m.type === 'file');
        const got = await Promise.all(files.map(async (m) => sha256(await fs.readFile(m.path))));
        assertNoDiffs(files.flatMap((m, i) => (got[i] === m.sha256 ? [] : [`${m.path}: content sha256 differs`])), 'concurrent reads');
      } finally {
        await fs.close();
      }
    });

    it('every file read through one dirty reused buffer, with a tree cache too small for the trees, has the kernel\'s content', async () => {
      // A small tree cache sends lookups down the paths that load blocks; a buffer full of 0xee
      // shows any byte a read leaves unwritten (a lost hole, a short copy).
      const fs = await open(images[0]!, { treeCacheBytes: 8 * 65536 });
      try {
        const piece = Buffer.alloc(256 * 1024);
        const diffs: string[] = [];
        for (const m of manifest.entries.filter((x) => x.type === 'file')) {
          const file = await fs.fileRef(await fs.node(m.path, false, 'open'), m.path);
          const hash = createHash('sha256');
          for (let pos = 0n; pos < file.size; ) {
            const want = file.size - pos < BigInt(piece.length) ? Number(file.size - pos) : piece.length;
            piece.fill(0xee);
            const n = await fs.reader.read(file, pos, piece.subarray(0, want));
            hash.update(piece.subarray(0, n));
            pos += BigInt(n);
          }
          if (hash.digest('hex') !== m.sha256) diffs.push(`${m.path}: content sha256 differs`);
        }
        assertNoDiffs(diffs, 'reused-buffer reads');
      } finally {
        await fs.close();
      }
    });

    it('lists the subvolumes the kernel lists', async () => {
      const fs = await open(images[0]!);
      try {
        const subs = (await fs.subvolumes()).map((s) => ({
          id: Number(s.id), parent: Number(s.parent), path: s.path, uuid: s.uuid, parent_uuid: s.parentUuid,
          readonly: s.readonly, generation: Number(s.generation),
        }));
        assert.deepEqual(subs, manifest.subvolumes);
      } finally {
        await fs.close();
      }
      const cli = await runCli(['subvolumes', '--json', images[0]!]);
      assert.equal(cli.code, 0, cli.stderr);
      assert.deepEqual(JSON.parse(cli.stdout.toString()), manifest.subvolumes);
    });

    it('`ls -R --json` prints exactly the manifest', async () => {
      const cli = await runCli(['ls', '-R', '--json', images[0]!, '/']);
      assert.equal(cli.code, 0, cli.stderr);
      const lines = cli.stdout.toString('utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as EntryInfo);
      assertNoDiffs(diffEntries(lines, manifest.entries), 'ls -R --json');
    });

    it('`extract` writes every file with the kernel\'s content, mode, symlink target and hard links', async () => {
      const out = await mkdtemp(join(tmpdir(), `btrfs-lens-extract-${name}-`));
      try {
        const asRoot = process.getuid?.() === 0;
        // Everything the kernel shows, privileges and device nodes included (both need asking for).
        const cli = await runCli(['extract', images[0]!, '/', '-o', out, '--same-permissions', ...(asRoot ? ['--devices'] : [])]);
        // Without root, device nodes cannot be made: extract says so and exits 1.
        assert.equal(cli.code, asRoot || !manifest.entries.some((e) => e.type === 'chr' || e.type === 'blk') ? 0 : 1, cli.stderr);
        const problems: string[] = [];
        const inodeOf = new Map<string, number>();
        for (const e of manifest.entries) {
          const p = join(out, e.path);
          if (e.type === 'sock' || (!asRoot && (e.type === 'chr' || e.type === 'blk'))) continue;
          const st = await lstat(p).catch(() => undefined);
          if (!st) {
            problems.push(`${e.path}: not extracted`);
            continue;
          }
          if (e.type !== 'symlink' && st.mode !== e.mode) problems.push(`${e.path}: mode ${st.mode.toString(8)}, kernel ${e.mode.toString(8)}`);
          if (e.type === 'file' && sha256(await readFile(p)) !== e.sha256) problems.push(`${e.path}: content differs`);
          if (e.type === 'symlink' && (await readlink(p)) !== e.target) problems.push(`${e.path}: symlink target differs`);
          if (e.type === 'chr' || e.type === 'blk') {
            const rdev = [Math.floor(st.rdev / 256) & 0xfff, st.rdev & 0xff];
            if (rdev[0] !== e.rdev![0] && e.rdev![0]! < 4096) problems.push(`${e.path}: rdev ${rdev}, kernel ${e.rdev}`);
          }
          if (asRoot && (st.uid !== e.uid || st.gid !== e.gid)) problems.push(`${e.path}: owner ${st.uid}:${st.gid}, kernel ${e.uid}:${e.gid}`);
          if (e.type !== 'dir' && e.nlink > 1) {
            const id = `${e.subvol}:${e.ino}`;
            const first = inodeOf.get(id);
            if (first === undefined) inodeOf.set(id, st.ino);
            else if (first !== st.ino) problems.push(`${e.path}: hard link not preserved`);
          }
          // Placeholder directories (inode 2) get their mtime at lookup time in the kernel: not comparable.
          if (e.type !== 'symlink' && e.ino !== 2) {
            const wantMs = Date.parse(e.mtime);
            if (Math.abs(st.mtimeMs - wantMs) > 1 && (await hostStoresTime(out, wantMs))) {
              problems.push(`${e.path}: mtime ${st.mtime.toISOString()}, kernel ${e.mtime}`);
            }
          }
        }
        assertNoDiffs(problems, 'extract');
        // Nothing extra: every extracted name is in the manifest.
        const extra: string[] = [];
        const known = new Set(manifest.entries.map((e) => e.path));
        const visit = async (dir: string, rel: string): Promise<void> => {
          for (const d of await readdir(dir, { withFileTypes: true })) {
            const r = `${rel}/${d.name}`;
            if (!known.has(r)) extra.push(r);
            if (d.isDirectory()) await visit(join(dir, d.name), r);
          }
        };
        await visit(out, '');
        assertNoDiffs(extra.map((p) => `${p}: extracted but not in the manifest`), 'extract');
      } finally {
        await rm(out, { recursive: true, force: true });
      }
    });

    if (manifest.log_tree_only.length) {
      it('shows the committed state: what only the unreplayed log tree holds is not shown', async () => {
        const fs = await open(images[0]!);
        try {
          for (const e of manifest.log_tree_only) {
            const seen = await fs.lstat(e.path).then(() => true, () => false);
            if (e.change === 'added') assert.equal(seen, false, `${e.path} exists only in the log tree`);
          }
        } finally {
          await fs.close();
        }
      });
    }
  });
}
