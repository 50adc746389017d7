// The emulator's invariants on every fixture the kernel made. Truth comes from the manifests (sha256
// of every file), from the file extent items counted here (checked against compsize's counts), and
// from a plain model of the files' bytes; never from the emulator's own numbers.

import assert from 'node:assert/strict';
import { createHash, type Hash } from 'node:crypto';
import type { ReadCounters } from '../lib/cache/counters.js';
import type { CachePolicy } from '../lib/cache/page-key.js';
import { Emulator, type EmulateOptions } from '../lib/emulate/emulator.js';
import type { Op } from '../lib/emulate/trace.js';
import { readAll, type NumberedOp } from '../lib/emulate/workload.js';
import type { Btrfs } from '../lib/fs/btrfs.js';
import { open } from '../lib/index.js';
import { compsizeCounts, ContentModel, prng, randomTrace, scanExtents, sha256, type ExtentScan } from './emulate-model.js';
import { fixtureImages, fixtureNames, loadManifest } from './helpers/fixtures.js';

const BOTH: CachePolicy[] = ['per-inode', 'logical'];

async function collect(ops: AsyncIterable<NumberedOp>): Promise<NumberedOp[]> {
  const out: NumberedOp[] = [];
  for await (const o of ops) out.push(o);
  return out;
}

function numbered(ops: Op[]): NumberedOp[] {
  return ops.map((op, i) => ({ line: i + 1, op }));
}

function delta(after: ReadCounters, before: ReadCounters): ReadCounters {
  const d = { ...after };
  for (const k of Object.keys(d) as Array<keyof ReadCounters>) d[k] = after[k] - before[k];
  return d;
}

/** Run ops on a fresh emulator; check every read against `model` (replayed alongside) when given. */
async function run(fs: Btrfs, ops: NumberedOp[], options: EmulateOptions, model?: ContentModel): Promise<Emulator> {
  const mismatches: string[] = [];
  const emu = await Emulator.create(fs, {
    ...options,
    keepData: model !== undefined || options.keepData === true,
    onRead: (policy, op, line, result) => {
      if (!model) return;
      const want = model.expected(op)!;
      if (Number(result.offset) !== want.offset || !result.data || !result.data.equals(want.data)) {
        mismatches.push(`line ${line} ${JSON.stringify({ ...op, data: undefined })} under ${policy}: got ${result.data?.length} bytes at ${result.offset}, model has ${want.data.length} at ${want.offset}`);
      }
    },
  });
  for (const { line, op } of ops) {
    await emu.apply(op, line);
    model?.apply(op);
    if (mismatches.length) break;
  }
  assert.deepEqual(mismatches, []);
  return emu;
}

for (const name of fixtureNames()) {
  describe(`emulate: ${name}`, function () {
    this.timeout(600_000);
    const manifest = loadManifest(name);
    const S = manifest.sectorsize;
    let fs: Btrfs;
    let reference: Btrfs;
    let scan: ExtentScan;
    let readAllOps: NumberedOp[];

    before(async () => {
      const images = await fixtureImages(name);
      fs = await open(images[0]!);
      // The reference reader keeps (almost) nothing cached: every read goes to the image.
      reference = await open(images[0]!, { cacheBytes: 0 });
      scan = await scanExtents(fs, manifest);
      readAllOps = await collect(readAll(fs));
    });
    after(async () => {
      await fs?.close();
      await reference?.close();
    });

    it('counts the same extents, references and inline extents as compsize did on the kernel mount', () => {
      const c = compsizeCounts(name);
      const files = manifest.entries.filter((e) => e.type === 'file').length;
      if (!c) {
        // compsize prints no summary for a single file (or failed): the scan must still see the files.
        assert.ok(files <= 1 || scan.pathCount === files);
        return;
      }
      assert.deepEqual(
        { files: scan.pathCount, extents: scan.distinctExtents, refs: scan.refs, inline: scan.inline },
        { files: c.files, extents: c.extents, refs: c.refs, inline: c.inline },
      );
    });

    it('1: read-all returns the kernel\'s bytes under both policies at any budget, each read equal to an uncached read', async () => {
      const want = new Map(manifest.entries.filter((e) => e.type === 'file').map((e) => [e.path, e.sha256!]));
      for (const memoryBytes of [Infinity, 64 * S, S]) {
        const hashes = new Map<string, Hash>();
        const problems: string[] = [];
        const emu = await Emulator.create(fs, {
          policies: BOTH, memoryBytes, keepData: true,
          onRead: async (policy, op, _line, result) => {
            if (op.op !== 'read') return;
            const direct = await reference.read(op.path, op.offset, op.length);
            if (!result.data!.equals(direct)) problems.push(`${policy} ${op.path}@${op.offset}: differs from the uncached read`);
            const key = `${policy}\0${op.path}`;
            let h = hashes.get(key);
            if (!h) hashes.set(key, (h = createHash('sha256')));
            h.update(result.data!);
          },
        });
        await emu.run(readAllOps);
        assert.deepEqual(problems, [], `memory ${memoryBytes}`);
        for (const policy of BOTH) {
          for (const [path, sha] of want) {
            const got = hashes.get(`${policy}\0${path}`)?.digest('hex') ?? sha256(Buffer.alloc(0));
            assert.equal(got, sha, `${policy}, memory ${memoryBytes}: ${path}`);
          }
        }
      }
    });

    it('2, 3: pages resident never exceed the budget, and the logical policy never holds the same data twice', async () => {
      for (const pages of [1, 7, 64, Infinity]) {
        const model = await ContentModel.load(reference, manifest);
        const trace = randomTrace(await ContentModel.load(reference, manifest), { seed: 100 + (pages === Infinity ? 0 : pages), count: 150 });
        const emu = await run(fs, [...readAllOps, ...numbered(trace)], { policies: BOTH, memoryBytes: pages * S }, model);
        for (const policy of BOTH) {
          const m = emu.machine(policy)!;
          if (Number.isFinite(pages)) assert.ok(m.counters.pages_peak <= pages, `${policy}: peak ${m.counters.pages_peak} pages > budget ${pages}`);
          assert.equal(m.counters.pages_resident, m.cache.size);
        }
        const logical = emu.machine('logical')!;
        assert.equal(logical.counters.duplicate_pages_peak, 0, `logical policy held data twice (budget ${pages} pages)`);
        const identities = [...logical.cache.entries()].map((p) => p.identity).filter((i) => i !== undefined);
        assert.equal(new Set(identities).size, identities.length);
      }
    });

    it('4: unlimited read-all decompresses and verifies each distinct extent once (logical), once per referencing file extent (per-inode)', async () => {
      const emu = await run(fs, readAllOps, { policies: BOTH });
      const lo = emu.machine('logical')!.counters;
      const pi = emu.machine('per-inode')!.counters;
      let compressedSectors = 0;
      let compressedBytes = 0;
      for (const n of scan.compressedExtents.values()) {
        compressedSectors += Number(n) / S;
        compressedBytes += Number(n);
      }
      assert.equal(lo.decompressions, scan.compressedExtents.size + scan.compressedInlineInodes, 'logical decompressions');
      assert.equal(pi.decompressions, scan.compressedItemRefs + scan.compressedInlineInodes, 'per-inode decompressions');
      // No fixture file is NODATASUM, so every data sector read is verified.
      assert.equal(lo.csum_sectors_verified, scan.distinctSectors + compressedSectors, 'logical checksums');
      assert.equal(pi.csum_sectors_verified, scan.inodeSectors + scan.compressedItemDiskBytes / S, 'per-inode checksums');
      assert.equal(lo.disk_bytes, scan.distinctSectors * S + compressedBytes, 'logical disk bytes');
      assert.equal(pi.disk_bytes, scan.inodeSectors * S + scan.compressedItemDiskBytes, 'per-inode disk bytes');
      // Each distinct compressed extent is one the extent tree knows, with the same on-disk length.
      const extentTree = await fs.filesystem.tree(2n);
      for (const [bytenr, len] of scan.compressedExtents) {
        assert.ok(await extentTree.get({ objectid: bytenr, type: 168, offset: len }), `no EXTENT_ITEM (${bytenr} EXTENT_ITEM ${len})`);
      }
    });

    it('cat and extract read through the logical cache: each shared extent decompressed and verified once', async () => {
      // The library's own read path as extract drives it: default budget, 1 MiB reads and readahead.
      const images = await fixtureImages(name);
      const lib = await open(images[0]!);
      try {
        const seen = new Set<string>();
        for (const e of manifest.entries) {
          if (e.type !== 'file' || seen.has(`${e.subvol}:${e.ino}`)) continue;
          seen.add(`${e.subvol}:${e.ino}`);
          const file = await lib.fileRef(await lib.node(e.path, false), e.path);
          const h = createHash('sha256');
          for (let pos = 0n; pos < file.size; pos += 1n << 20n) {
            const piece = Buffer.alloc(1 << 20);
            h.update(piece.subarray(0, await lib.reader.read(file, pos, piece)));
          }
          assert.equal(h.digest('hex'), e.sha256, e.path);
        }
        const c = lib.counters;
        let compressedSectors = 0;
        for (const n of scan.compressedExtents.values()) compressedSectors += Number(n) / S;
        assert.equal(c.decompressions + c.inline_decompressions, scan.compressedExtents.size + scan.compressedInlineInodes);
        assert.equal(c.csum_sectors_verified, scan.distinctSectors + compressedSectors);
      } finally {
        await lib.close();
      }
    });

    it('5: a cache hit never reads the disk and never verifies a checksum', async () => {
      const files = manifest.entries.filter((e) => e.type === 'file' && e.size > 0);
      const rnd = prng(7);
      const ops: Op[] = [];
      for (let i = 0; i < 400 && files.length; i++) {
        const f = files[Math.floor(rnd() * files.length)]!;
        ops.push({ op: 'read', path: f.path, offset: Math.floor((rnd() * f.size) / S) * S, length: S });
      }
      for (const pages of [8, Infinity]) {
        const emu = await Emulator.create(fs, { policies: BOTH, memoryBytes: pages * S });
        let hitsOnly = 0;
        for (const [i, op] of ops.entries()) {
          const before = emu.machines.map((m) => ({ ...m.counters }));
          await emu.apply(op, i + 1);
          emu.machines.forEach((m, k) => {
            const d = delta(m.counters, before[k]!);
            if (d.cache_misses === 0) {
              hitsOnly++;
              assert.deepEqual([d.disk_reads, d.disk_bytes, d.csum_sectors_verified, d.decompressions], [0, 0, 0, 0], `${m.policy}: ${JSON.stringify(op)}`);
            }
          });
        }
        if (files.length) assert.ok(hitsOnly > 0, 'no read was served from the cache');
      }
    });

    it('6: holes and prealloc cause no I/O, checksum work or decompression', async () => {
      const emu = await Emulator.create(fs, { policies: BOTH });
      for (const e of manifest.entries) {
        if (e.type !== 'file' || e.size === 0) continue;
        const { extents, size } = await fs.fileExtents(e.path);
        const pages = Number((size + BigInt(S) - 1n) / BigInt(S));
        const owner = new Array<string>(pages).fill('hole');
        for (const x of extents) {
          const kind = x.extent.kind === 'inline' ? 'data' : x.extent.kind === 'prealloc' ? 'prealloc' : x.extent.diskBytenr === 0n ? 'hole' : 'data';
          const first = Number(x.fileOffset / BigInt(S));
          const last = Number((x.fileOffset + x.length + BigInt(S) - 1n) / BigInt(S));
          for (let p = first; p < Math.min(last, pages); p++) if (x.fileOffset <= BigInt(p * S) || kind === 'data') owner[p] = kind;
        }
        for (let p = 0; p < pages; p++) {
          if (owner[p] === 'data') continue;
          for (const op of [{ op: 'read', path: e.path, offset: p * S, length: S }, { op: 'dio-read', path: e.path, offset: p * S, length: S }] as Op[]) {
            const before = emu.machines.map((m) => ({ ...m.counters }));
            await emu.apply(op, 1);
            emu.machines.forEach((m, k) => {
              const d = delta(m.counters, before[k]!);
              assert.deepEqual([d.disk_reads, d.csum_sectors_verified, d.decompressions], [0, 0, 0], `${m.policy}: ${owner[p]} page ${p} of ${e.path}`);
            });
          }
        }
      }
    });

    it('7: after a write to a shared extent, the other sharers still read the old data', async () => {
      const sha = new Map(manifest.entries.filter((e) => e.type === 'file').map((e) => [e.path, e.sha256!]));
      const model = await ContentModel.load(reference, manifest);
      // The largest writable file with data in a regular extent (not only holes, prealloc or inline).
      let victim = '';
      let dataAt = 0;
      for (const p of model.paths().filter((p) => model.writable(p))) {
        const { extents, size } = await fs.fileExtents(p);
        const x = extents.find((x) => x.extent.kind === 'regular' && x.extent.diskBytenr !== 0n && x.fileOffset < size);
        if (x && (!victim || size > model.entry(victim).file.content.length)) {
          victim = p;
          dataAt = Number(x.fileOffset);
        }
      }
      assert.ok(victim, 'no writable file with a regular extent');
      // Sharing made by the workload: a reflinked copy and a snapshot of the file's subvolume.
      const root = [...model.subvolRoots.entries()].filter(([p, id]) => id === model.entry(victim).subvol && victim.startsWith(p === '/' ? '/' : p + '/'))[0]![0];
      const copy = `${victim.slice(0, victim.lastIndexOf('/'))}/emu-shared-copy`;
      const snap = '/emu-shared-snap';
      const inSnap = `${snap}/${victim.slice(root === '/' ? 1 : root.length + 1)}`;
      const size = model.entry(victim).file.content.length;
      const ops: Op[] = [
        { op: 'reflink', src: victim, dst: copy, src_offset: 0, dst_offset: 0, length: 0 },
        { op: 'snapshot', src: root, dst: snap, readonly: false },
        { op: 'read', path: copy, offset: 0, length: size },
        { op: 'read', path: victim, offset: 0, length: size },
        { op: 'read', path: inSnap, offset: 0, length: size },
        { op: 'mmap-write', path: victim, offset: dataAt, data: Buffer.from('mmap wrote this') },
        { op: 'write', path: victim, offset: Math.floor(size / 2), length: Math.min(3 * S, size), data: Buffer.alloc(Math.min(3 * S, size), 0x5a) },
        { op: 'fsync', path: victim },
        { op: 'read', path: copy, offset: 0, length: size },
        { op: 'read', path: inSnap, offset: 0, length: size },
        { op: 'write', path: inSnap, offset: 0, length: 100, data: Buffer.alloc(100, 0x33) },
        { op: 'read', path: copy, offset: 0, length: size },
      ];
      // Sharing the kernel made: write over one file of each pair, read the other.
      for (const [a, b] of scan.sharedPairs.filter(([a]) => model.entries.has(a) && model.writable(a)).slice(0, 6)) {
        const n = model.entry(a).file.content.length;
        ops.push({ op: 'read', path: b, offset: 0, length: model.entry(b).file.content.length });
        ops.push({ op: 'write', path: a, offset: 0, length: n, data: Buffer.alloc(n, 0xa5) });
        ops.push({ op: 'read', path: b, offset: 0, length: model.entry(b).file.content.length });
      }
      for (const pages of [Infinity, 16]) {
        const m = await ContentModel.load(reference, manifest);
        const emu = await run(fs, numbered(ops), { policies: BOTH, memoryBytes: pages * S }, m);
        // The model is plain buffers; and the copies still hold what the kernel recorded.
        assert.equal(sha256(m.entry(copy).file.content), sha.get(victim));
        if (Number.isFinite(pages)) continue;
        assert.ok(emu.machine('logical')!.counters.sharing_breaks > 0, 'the logical policy broke no sharing');
        assert.equal(emu.machine('per-inode')!.counters.sharing_breaks, 0);
      }
    });

    it('8: without sharing in the image (and none made by the workload) both policies count the same; with it the logical policy never does more I/O', async () => {
      // A workload that creates no sharing either: no reflink or snapshot, and no write into a file with
      // compressed extents (a write inside a compressed extent splits it into two references).
      const compressed = new Set<string>();
      for (const e of manifest.entries) {
        if (e.type === 'file' && (await fs.fileExtents(e.path)).extents.some((x) => x.extent.kind !== 'inline' && x.extent.compression !== 0)) compressed.add(e.path);
      }
      const trace = numbered(randomTrace(await ContentModel.load(reference, manifest), { seed: 8, count: 150, sharing: false, readOnly: compressed }));
      for (const [ops, memoryBytes] of [[readAllOps, Infinity], [readAllOps, 32 * S], [trace, Infinity], [trace, 16 * S]] as const) {
        const emu = await run(fs, [...ops], { policies: BOTH, memoryBytes }, ops === trace ? await ContentModel.load(reference, manifest) : undefined);
        const pi = emu.machine('per-inode')!.counters;
        const lo = emu.machine('logical')!.counters;
        if (!scan.sharing) assert.deepEqual(lo, pi, `memory ${memoryBytes}`);
        else if (ops === readAllOps && memoryBytes === Infinity) {
          assert.ok(lo.disk_bytes <= pi.disk_bytes && lo.csum_sectors_verified <= pi.csum_sectors_verified && lo.decompressions <= pi.decompressions);
          assert.ok(lo.disk_bytes < pi.disk_bytes || lo.decompressions < pi.decompressions, 'sharing saved nothing');
        }
      }
    });

    it('9: the same image and workload give the same counters', async () => {
      const trace = numbered(randomTrace(await ContentModel.load(reference, manifest), { seed: 9, count: 120 }));
      const once = async () => {
        const emu = await run(fs, [...readAllOps, ...trace], { policies: BOTH, memoryBytes: 24 * S });
        return emu.report('determinism');
      };
      assert.deepEqual(await once(), await once());
    });

    it('returns, for random workloads of every operation, under both policies and budgets, what a plain model of the files holds', async () => {
      for (const [seed, pages, reclaim] of [[1, Infinity, 'active-inactive'], [2, 5, 'active-inactive'], [3, 40, 'lru'], [4, 1, 'active-inactive']] as const) {
        const trace = numbered(randomTrace(await ContentModel.load(reference, manifest), { seed, count: 250 }));
        await run(fs, trace, { policies: BOTH, memoryBytes: pages * S, reclaim }, await ContentModel.load(reference, manifest));
      }
    });
  });
}

