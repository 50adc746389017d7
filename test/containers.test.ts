// Images in the containers people hold them in (fixtures/containers/: qcow2, VMDK, VHD, VHDX, split
// raw, E01, made from kernel-made fixtures by qemu-img, qemu-io, split and ewfacquire) read exactly
// as the kernel showed the image inside: `ls -R --json` and every file's bytes equal its manifest.
// Then the acquisition checks of verify-image, and damaged containers: one located line, its exit code.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { walk } from '../lib/fs/walk.js';
import { open, type OpenOptions } from '../lib/index.js';
import { openImageFile } from '../lib/io/container.js';
import { EwfSource } from '../lib/io/ewf.js';
import { runCli } from './helpers/cli.js';
import { assertNoDiffs, diffEntries } from './helpers/compare.js';
import { containerFiles, containerIndex, copyFiles, CONTAINERS_CACHE } from './helpers/containers.js';
import { fixtureImages, loadManifest } from './helpers/fixtures.js';

const sha256 = (b: Buffer | Uint8Array) => createHash('sha256').update(b).digest('hex');
const fileSha = (p: string) => sha256(fs.readFileSync(p));

/** The library options a container's index options stand for. */
function openOptions(options: string[]): OpenOptions {
  const out: OpenOptions = {};
  for (let i = 0; i < options.length; i += 2) {
    if (options[i] === '--qcow-snapshot') out.qcowSnapshot = options[i + 1]!;
    if (options[i] === '--backing') out.backing = options[i + 1]!;
  }
  return out;
}

/** One line on stderr, no stack trace, the expected exit code. */
function oneLine(r: { code: number; stderr: string }, code: number, pattern: RegExp): void {
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line expected:\n${r.stderr}`);
  assert.doesNotMatch(r.stderr, /\n\s+at |internal error/);
  assert.match(lines[0]!, pattern);
  assert.equal(r.code, code, r.stderr);
}

describe('containers: every container fixture reads as the kernel showed its image', function () {
  this.timeout(600_000);
  const index = containerIndex();
  let dir = '';
  const sums: Record<string, string> = {};
  const at = (name: string) => path.join(dir, name);

  before(async () => {
    dir = await containerFiles();
    for (const c of index) for (const f of c.files) sums[f] ??= fileSha(at(f));
  });

  it('the index covers every format and the GPT whole disk', () => {
    assert.deepEqual([...new Set(index.map((c) => c.format))].sort(), ['ewf', 'qcow2', 'split', 'vhd', 'vhdx', 'vmdk']);
    assert.ok(index.some((c) => c.fixture === 'gpt'));
    assert.ok(index.filter((c) => c.format === 'ewf').some((c) => c.files.length > 2), 'an E01 set of several segments');
  });

  for (const c of index) {
    it(`${c.name} (${c.format}): ls -R --json and every file's sha256 equal the ${c.fixture} manifest`, async () => {
      const manifest = loadManifest(c.fixture);
      const ls = await runCli(['ls', '-R', '--json', at(c.open), '/', ...c.options]);
      assert.equal(ls.code, 0, ls.stderr);
      const lines = ls.stdout.toString('utf8').trim().split('\n').map((l) => JSON.parse(l) as Parameters<typeof diffEntries>[0][number]);
      assertNoDiffs(diffEntries(lines, manifest.entries), `${c.name} ls -R --json`);
      const lens = await open(at(c.open), openOptions(c.options));
      try {
        const wrong: string[] = [];
        let files = 0;
        for await (const e of walk(lens, '/', { follow: false })) {
          if (e.kind !== 'file') continue;
          files++;
          const want = manifest.entries.find((m) => m.path === e.path);
          if (sha256(await lens.readFile(e.path)) !== want?.sha256) wrong.push(e.path);
        }
        assert.deepEqual(wrong, []);
        assert.equal(files, manifest.entries.filter((m) => m.type === 'file').length);
      } finally {
        await lens.close();
      }
    });
  }

  it('the whole virtual disk of every container is byte for byte the source image', async () => {
    for (const c of index) {
      const [raw] = await fixtureImages(c.fixture);
      const want = fileSha(raw!);
      const src = await openImageFile(at(c.open), openOptions(c.options));
      try {
        const h = createHash('sha256');
        for (let p = 0; p < src.size; p += 1 << 20) h.update(await src.read(p, Math.min(1 << 20, src.size - p)));
        assert.equal(h.digest('hex'), want, `${c.name}: virtual disk differs from ${c.fixture}`);
      } finally {
        await src.close();
      }
    }
  });

  it('a GPT whole-disk image inside a qcow2: the Btrfs partition is found inside the container', async () => {
    const r = await runCli(['info', '--json', at('gpt-deflate.qcow2')]);
    assert.equal(r.code, 0, r.stderr);
    const info = JSON.parse(r.stdout.toString()) as { devices: Array<{ path: string }>; containers: Array<{ format: string }> };
    assert.match(info.devices[0]!.path, /gpt-deflate\.qcow2 partition 2/);
    assert.equal(info.containers[0]!.format, 'qcow2 v3');
  });

  it('qcow2 internal snapshots: the active layer (superblock overwritten) is not Btrfs, the snapshot is; info lists it', async () => {
    oneLine(await runCli(['ls', at('mixed-snapshot.qcow2'), '/']), 4, /not a Btrfs filesystem/);
    const byId = await runCli(['ls', at('mixed-snapshot.qcow2'), '/', '--qcow-snapshot', '1']);
    assert.equal(byId.code, 0, byId.stderr);
    const info = await runCli(['info', at('mixed-snapshot.qcow2'), '--qcow-snapshot', 'kernel-image']);
    assert.match(info.stdout.toString(), /snapshot 1: +kernel-image, .*\(selected\)/);
    oneLine(await runCli(['ls', at('mixed-snapshot.qcow2'), '/', '--qcow-snapshot', 'nope']), 2, /no internal snapshot nope; snapshots: 1 \(kernel-image\)/);
  });

  it('info shows the E01 acquisition metadata: case number, examiner, acquisition date, notes', async () => {
    const r = await runCli(['info', at('mixed.E01')]);
    assert.equal(r.code, 0, r.stderr);
    const text = r.stdout.toString();
    assert.match(text, /EWF \(E01, 9 segment files\)/);
    assert.match(text, /case number: +case-0015/);
    assert.match(text, /examiner: +Examiner One/);
    assert.match(text, /notes: +stored chunks, eight segments/);
    assert.match(text, /acquisition date: +\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/);
  });

  it('nothing was written to any container file', () => {
    for (const [f, sum] of Object.entries(sums)) assert.equal(fileSha(at(f)), sum, `${f} changed`);
  });
});

describe('verify-image: E01 acquisition hashes', function () {
  this.timeout(300_000);
  let dir = '';
  let scratch = '';
  before(async () => {
    dir = await containerFiles();
    scratch = await mkdtemp(path.join(tmpdir(), 'btrfs-lens-verify-'));
  });
  after(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  for (const [e01, fixture] of [['mixed.E01', 'mixed'], ['basic.E01', 'basic']] as const) {
    it(`${e01}: MD5 and SHA1 match the acquisition's, and are the raw image's own`, async () => {
      const r = await runCli(['verify-image', '--json', path.join(dir, e01)]);
      assert.equal(r.code, 0, r.stderr);
      const report = JSON.parse(r.stdout.toString()) as { ok: boolean; hashes: Array<{ algorithm: string; computed: string; match: boolean }>; badChunks: unknown[] };
      assert.equal(report.ok, true);
      assert.deepEqual(report.hashes.map((h) => h.algorithm), ['md5', 'sha1']);
      assert.ok(report.hashes.every((h) => h.match));
      const raw = fs.readFileSync((await fixtureImages(fixture))[0]!);
      assert.equal(report.hashes[0]!.computed, createHash('md5').update(raw).digest('hex'));
      assert.equal(report.hashes[1]!.computed, createHash('sha1').update(raw).digest('hex'));
    });
  }

  /** Copy an E01 set, flip one byte inside chunk `chunk`'s stored bytes, run verify-image. */
  async function flipped(set: string, files: string[], chunk: number) {
    const into = path.join(scratch, `${set}-${chunk}`);
    copyFiles(files, into);
    const src = await openImageFile(path.join(into, files[0]!));
    assert.ok(src instanceof EwfSource);
    const { location } = await src.readChunk(chunk);
    await src.close();
    const fd = fs.openSync(location.segment, 'r+');
    const b = Buffer.alloc(1);
    fs.readSync(fd, b, 0, 1, location.offset + 10);
    b[0]! ^= 0x40;
    fs.writeSync(fd, b, 0, 1, location.offset + 10);
    fs.closeSync(fd);
    return { location, r: await runCli(['verify-image', path.join(into, files[0]!)]) };
  }

  it('a copy with one flipped byte in a stored chunk: MISMATCH, and the chunk is named (exit 1)', async () => {
    const files = fs.readdirSync(dir).filter((f) => /^mixed\.E\d\d$/.test(f)).sort();
    const { location, r } = await flipped('mixed', files, 300);
    assert.equal(r.code, 1, r.stderr);
    const out = r.stdout.toString();
    assert.match(out, /MD5 MISMATCH/);
    assert.match(out, new RegExp(`chunk 300 \\(media bytes 9830400-9863167\\) in .*${path.basename(location.segment).replace('.', '\\.')} at offset ${location.offset}, stored: stored chunk Adler-32 mismatch`));
    assert.match(out, /FAILED: 1024 chunks, 33554432 bytes, 1 damaged chunk\(s\)/);
  });

  it('a copy with one flipped byte in a zlib chunk: the chunk is named (exit 1)', async () => {
    const src = await openImageFile(path.join(dir, 'basic.E01'));
    assert.ok(src instanceof EwfSource);
    // A chunk that holds data (not one of the many all-zero ones).
    let chunk = 2;
    while ((await src.readChunk(chunk)).data.every((x) => x === 0)) chunk++;
    await src.close();
    const { r } = await flipped('basic', ['basic.E01'], chunk);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout.toString(), new RegExp(`chunk ${chunk} .* compressed: zlib chunk`));
  });
});

describe('damaged containers: one located line and its exit code', function () {
  this.timeout(120_000);
  let scratch = '';
  const e01 = () => fs.readdirSync(CONTAINERS_CACHE).filter((f) => /^mixed\.E\d\d$/.test(f)).sort();
  before(async () => {
    await containerFiles();
    scratch = await mkdtemp(path.join(tmpdir(), 'btrfs-lens-damaged-'));
  });
  after(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  it('a truncated E01 segment: exit 5 naming the segment file', async () => {
    const into = path.join(scratch, 'truncated');
    copyFiles(e01(), into);
    fs.truncateSync(path.join(into, 'mixed.E03'), 1_000_000);
    oneLine(await runCli(['ls', '-R', path.join(into, 'mixed.E01'), '/']), 5, /EWF segment truncated: section "sectors" at 1141 runs to \d+, past the end of the file \(1000000 bytes\): device=.*mixed\.E03$/);
  });

  it('a missing E02: exit 5 naming it', async () => {
    const into = path.join(scratch, 'missing');
    copyFiles(e01().filter((f) => f !== 'mixed.E02'), into);
    oneLine(await runCli(['ls', path.join(into, 'mixed.E01'), '/']), 5, /EWF segment file .*mixed\.E02 is missing \(segment 1 ends in "next"\): device=.*mixed\.E01$/);
  });

  it('a qcow2 whose backing file is missing: exit 5 naming it; --backing FILE reads it', async () => {
    const into = path.join(scratch, 'backing');
    copyFiles(['chain-top.qcow2'], into);
    oneLine(await runCli(['ls', path.join(into, 'chain-top.qcow2'), '/']), 5, /backing file "chain-mid\.qcow2" not found at .*chain-mid\.qcow2; give it with --backing FILE: device=.*chain-top\.qcow2$/);
    const r = await runCli(['ls', path.join(into, 'chain-top.qcow2'), '/', '--backing', path.join(CONTAINERS_CACHE, 'chain-mid.qcow2')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout.toString(), /regular-256k/);
  });

  it('an L2 entry pointing past the end of the file: exit 4 naming the table, entry and offset', async () => {
    const into = path.join(scratch, 'l2');
    copyFiles(['mixed-v3.qcow2'], into);
    const file = path.join(into, 'mixed-v3.qcow2');
    const buf = fs.readFileSync(file);
    const l1 = Number(buf.readBigUInt64BE(40));
    const l2 = Number(buf.readBigUInt64BE(l1) & 0x00fffffffffffe00n);
    // Guest cluster 1 (64 KiB) holds the primary superblock.
    const entry = buf.readBigUInt64BE(l2 + 8);
    assert.notEqual(entry & 0x00fffffffffffe00n, 0n);
    const past = BigInt(Math.ceil(buf.length / 65536) * 65536 + 64 * 65536);
    const fd = fs.openSync(file, 'r+');
    const patch = Buffer.alloc(8);
    patch.writeBigUInt64BE((entry & ~0x00fffffffffffe00n) | past);
    fs.writeSync(fd, patch, 0, 8, l2 + 8);
    fs.closeSync(fd);
    oneLine(await runCli(['ls', '-R', file, '/']), 4, new RegExp(`qcow2 L2 table at ${l2} entry 1 \\(guest offset 65536\\) points at host offset ${past}, past the end of the file \\(${buf.length} bytes\\): device=.*mixed-v3\\.qcow2$`));
  });
});
