import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Deflate, Inflate, Z_SYNC_FLUSH, deflate } from 'pako';
import {
  COMPRESSION,
  MAX_UNCOMPRESSED,
  loadDecompressor,
  lzo1xDecompress,
  lzo1xWorstCompress,
  lzoLayout,
  parseZstdFrameHeader,
  type Decompressor,
} from '../lib/compression/index.js';
import { BtrfsError, CorruptError, UnsupportedError, UsageError } from '../lib/errors.js';

const VECTORS = new URL('../../fixtures/vectors/', import.meta.url);

interface Vector {
  file: string;
  compression: 'zlib' | 'lzo' | 'zstd';
  what: string;
  inline: boolean;
  ram_bytes: number;
  sha256: string;
  lzo_padding?: { at: number; bytes: number }[];
}
const manifest = JSON.parse(readFileSync(new URL('manifest.json', VECTORS), 'utf8')) as { sectorsize: number; vectors: Vector[] };
const SECTOR = manifest.sectorsize;
const vectorBytes = (v: Vector) => new Uint8Array(readFileSync(new URL(v.file, VECTORS)));
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const TYPES = { zlib: COMPRESSION.zlib, lzo: COMPRESSION.lzo, zstd: COMPRESSION.zstd } as const;
const run = (d: Decompressor, v: Vector, input: Uint8Array, n: number) =>
  v.inline ? d.decompressInline(input, n) : d.decompress(input, n);

/** Deterministic bytes: a small xorshift, so failures reproduce. */
function prng(seed: number): () => number {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}
function text(n: number, seed = 1): Uint8Array {
  const words = ['btrfs', 'extent', 'sector', 'inode', 'leaf', 'chunk', 'stripe', 'mirror', 'csum', 'tree'];
  const r = prng(seed);
  let s = '';
  while (s.length < n) s += words[r() % words.length] + (r() % 9 === 0 ? '\n' : ' ');
  return new TextEncoder().encode(s.slice(0, n));
}

// ---- LZO test encoders: literal-only LZO1X streams and Btrfs framing around them ----

/** An LZO1X stream holding `data` as one literal run (valid, if not small). */
function lzoLiterals(data: Uint8Array): Uint8Array {
  const n = data.length;
  const head: number[] = [];
  if (n === 0) {
    // Just the end marker.
  } else if (n <= 238) {
    head.push(17 + n);
  } else {
    // First instruction in state 0: t = 0, then the extended count: 18 + 255 * zeros + last.
    head.push(0);
    let rest = n - 18;
    while (rest > 255) {
      head.push(0);
      rest -= 255;
    }
    head.push(rest);
  }
  return Uint8Array.from([...head, ...data, 0x11, 0x00, 0x00]);
}

/** Btrfs LZO framing: total length, segments with headers that never straddle a sector. */
function lzoFrame(segments: Uint8Array[], sectorSize: number, opts: { padTo?: 'sector' | 'none' } = {}): Uint8Array {
  const out: number[] = [0, 0, 0, 0];
  for (const s of segments) {
    out.push(s.length & 0xff, (s.length >>> 8) & 0xff, (s.length >>> 16) & 0xff, s.length >>> 24);
    out.push(...s);
    const left = sectorSize - (out.length % sectorSize);
    if (left < 4) for (let i = 0; i < left; i++) out.push(0);
  }
  const total = out.length;
  out[0] = total & 0xff;
  out[1] = (total >>> 8) & 0xff;
  out[2] = (total >>> 16) & 0xff;
  out[3] = total >>> 24;
  if (opts.padTo !== 'none') while (out.length % sectorSize) out.push(0);
  return Uint8Array.from(out);
}

/** Literal-only segments for `data`, one per sector, sized so padding shows up where we want. */
function lzoSegmentsFor(data: Uint8Array, sectorSize: number): Uint8Array[] {
  const segs: Uint8Array[] = [];
  for (let o = 0; o < data.length; o += sectorSize) segs.push(lzoLiterals(data.subarray(o, o + sectorSize)));
  return segs;
}

// ---- zstd test frames built by hand: raw and RLE blocks need no entropy coder ----

function zstdFrame(opts: { windowLog?: number; fcs?: number; checksum?: boolean; dictId?: number; blocks: { type: 'raw' | 'rle'; data: Uint8Array | number; size?: number }[] }): Uint8Array {
  const out: number[] = [0x28, 0xb5, 0x2f, 0xfd];
  let fhd = 0;
  if (opts.checksum) fhd |= 0x04;
  if (opts.dictId !== undefined) fhd |= 0x01;
  if (opts.fcs !== undefined) fhd |= 0x80; // 4-byte content size
  out.push(fhd);
  const wl = opts.windowLog ?? 17;
  out.push((wl - 10) << 3);
  if (opts.dictId !== undefined) out.push(opts.dictId);
  if (opts.fcs !== undefined) out.push(opts.fcs & 0xff, (opts.fcs >>> 8) & 0xff, (opts.fcs >>> 16) & 0xff, opts.fcs >>> 24);
  opts.blocks.forEach((b, i) => {
    const last = i === opts.blocks.length - 1 ? 1 : 0;
    const size = b.type === 'raw' ? (b.data as Uint8Array).length : b.size!;
    const h = last | ((b.type === 'raw' ? 0 : 1) << 1) | (size << 3);
    out.push(h & 0xff, (h >>> 8) & 0xff, (h >>> 16) & 0xff);
    if (b.type === 'raw') out.push(...(b.data as Uint8Array));
    else out.push(b.data as number);
  });
  if (opts.checksum) out.push(0, 0, 0, 0); // wrong on purpose where used
  return Uint8Array.from(out);
}

function expectCorrupt(fn: () => unknown, pattern?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof CorruptError, `expected CorruptError, got ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
    if (pattern) assert.match((e as Error).message, pattern);
    return true;
  });
}

describe('compression', () => {
  const dec: Record<'zlib' | 'lzo' | 'zstd', Decompressor> = {} as never;
  before(async () => {
    for (const [name, type] of Object.entries(TYPES)) dec[name as keyof typeof TYPES] = await loadDecompressor(type, SECTOR);
  });

  describe('kernel-written extents (fixtures/vectors, expected sha256 from a kernel mount)', () => {
    for (const v of manifest.vectors) {
      it(`${v.file}: ${v.what}`, () => {
        const out = run(dec[v.compression], v, vectorBytes(v), v.ram_bytes);
        assert.equal(out.length, v.ram_bytes);
        assert.equal(sha256(out), v.sha256);
      });
    }

    it('inputs may be views into larger buffers (byteOffset != 0)', () => {
      for (const v of manifest.vectors) {
        const raw = vectorBytes(v);
        const big = new Uint8Array(raw.length + 777).fill(0xee);
        big.set(raw, 333);
        const out = run(dec[v.compression], v, big.subarray(333, 333 + raw.length), v.ram_bytes);
        assert.equal(sha256(out), v.sha256, v.file);
      }
    });

    it('decoding into a reused buffer: the same bytes, zeros past the stream, nothing past outputLength touched', () => {
      const into = new Uint8Array(131072 + 16);
      for (const v of manifest.vectors.filter((x) => !x.inline)) {
        const d = dec[v.compression];
        const input = vectorBytes(v);
        for (const n of [v.ram_bytes, 131072, 5000]) {
          into.fill(0xee); // whatever the previous extent left
          const out = d.decompress(input, n, into);
          assert.equal(out.buffer, into.buffer, `${v.file} n=${n}: not decoded in place`);
          assert.equal(out.byteOffset, into.byteOffset);
          assert.equal(out.length, n);
          assert.deepEqual(out, d.decompress(input, n), `${v.file} n=${n}`);
          assert.ok(into.subarray(n).every((b) => b === 0xee), `${v.file} n=${n}: wrote past outputLength`);
        }
      }
      assert.throws(() => dec.zstd.decompress(vectorBytes(manifest.vectors.find((x) => x.compression === 'zstd' && !x.inline)!), 4096, new Uint8Array(4095)), UsageError);
    });

    it('includes LZO extents whose framing skipped sector padding, and lzoLayout finds it', () => {
      const padded = manifest.vectors.filter((v) => v.compression === 'lzo' && !v.inline && v.lzo_padding?.length);
      assert.ok(padded.length >= 1, 'no padded LZO vector');
      for (const v of padded) {
        const layout = lzoLayout(vectorBytes(v), SECTOR);
        const found = layout.segments.filter((s) => s.padding > 0).map((s) => ({ at: s.header + 4 + s.length, bytes: s.padding }));
        assert.deepEqual(found, v.lzo_padding);
        for (const p of found) assert.ok(p.bytes >= 1 && p.bytes <= 3 && (p.at + p.bytes) % SECTOR === 0);
      }
    });

    it('a prefix (outputLength < ram_bytes) is exactly the start of the full output, no error', () => {
      for (const v of manifest.vectors) {
        const input = vectorBytes(v);
        const full = run(dec[v.compression], v, input, v.ram_bytes);
        for (const n of [0, 1, 100, 2999, 4096, 4097, 70000]) {
          if (n > v.ram_bytes) continue;
          const part = run(dec[v.compression], v, input, n);
          assert.equal(part.length, n, `${v.file} n=${n}`);
          assert.deepEqual(part, full.subarray(0, n), `${v.file} n=${n}`);
        }
      }
    });

    it('a prefix does not look at the stream past what it needs (damage there goes unnoticed, as in the kernel)', () => {
      // zlib and LZO only: zstd decodes whole blocks, and a Btrfs frame is usually one 128 KiB
      // block, so damage anywhere in it fails even a short read (in the kernel too).
      for (const v of manifest.vectors.filter((x) => !x.inline && x.ram_bytes === 131072 && x.compression !== 'zstd')) {
        const input = vectorBytes(v);
        const full = run(dec[v.compression], v, input, v.ram_bytes);
        const damaged = input.slice();
        // Wreck the second half of the on-disk bytes; the first 4 KiB of output come from the start.
        for (let i = Math.floor(damaged.length * 0.75); i < damaged.length; i++) damaged[i] = 0xa5;
        assert.deepEqual(run(dec[v.compression], v, damaged, 4096), full.subarray(0, 4096), v.file);
      }
    });

    it('outputLength above what the stream holds: regular extents are zero-filled', () => {
      for (const v of manifest.vectors.filter((x) => !x.inline && x.ram_bytes < 131072)) {
        const out = dec[v.compression].decompress(vectorBytes(v), 131072);
        assert.equal(out.length, 131072);
        assert.equal(sha256(out.subarray(0, v.ram_bytes)), v.sha256, v.file);
        assert.ok(out.subarray(v.ram_bytes).every((b) => b === 0), v.file);
      }
    });

    it('outputLength above what the stream holds: inline extents are an error (the kernel returns -EIO)', () => {
      for (const v of manifest.vectors.filter((x) => x.inline)) {
        expectCorrupt(() => dec[v.compression].decompressInline(vectorBytes(v), v.ram_bytes + 1), /inline extent decompressed to 3000 bytes/);
      }
    });

    it('truncated extents are CorruptErrors', () => {
      for (const v of manifest.vectors.filter((x) => !x.inline)) {
        const input = vectorBytes(v);
        for (const keep of [0, 1, 3, 5, 17, 200, Math.floor(input.length / 3)]) {
          expectCorrupt(() => dec[v.compression].decompress(input.subarray(0, keep), v.ram_bytes));
        }
      }
      for (const v of manifest.vectors.filter((x) => x.inline)) {
        const input = vectorBytes(v);
        // Not just the last byte: a zlib stream's last 4 bytes are the adler32, which nobody reads.
        for (const keep of [0, 1, 3, 9, Math.floor(input.length / 2), input.length - 6]) {
          expectCorrupt(() => dec[v.compression].decompressInline(input.subarray(0, keep), v.ram_bytes));
        }
      }
    });

    it('seeded mutations of every vector: either exactly outputLength bytes or a CorruptError, quickly', function () {
      this.timeout(120_000);
      const r = prng(20261125);
      let errors = 0;
      let outputs = 0;
      for (const v of manifest.vectors) {
        const input = vectorBytes(v);
        for (let k = 0; k < 150; k++) {
          const m = input.slice();
          const kind = r() % 4;
          if (kind === 0) {
            m[r() % m.length] = r() & 0xff;
          } else if (kind === 1) {
            for (let j = 0; j < 8; j++) m[r() % m.length] ^= 1 << (r() % 8);
          } else if (kind === 2) {
            // Hit the headers, where lengths live.
            m[r() % Math.min(16, m.length)] = r() & 0xff;
          } else {
            const at = r() % m.length;
            m.fill(r() & 0xff, at, Math.min(m.length, at + 1 + (r() % 512)));
          }
          const t0 = performance.now();
          try {
            const out = run(dec[v.compression], v, m, v.ram_bytes);
            assert.equal(out.length, v.ram_bytes);
            outputs++;
          } catch (e) {
            if (!(e instanceof CorruptError)) throw new Error(`${v.file} mutation ${k}: ${String(e)}`);
            errors++;
          }
          assert.ok(performance.now() - t0 < 2000, `${v.file} mutation ${k} took too long`);
        }
      }
      assert.ok(errors > 0 && outputs > 0, `errors ${errors}, outputs ${outputs}`);
    });
  });

  describe('arguments', () => {
    it('loadDecompressor: none is a usage error, unknown types unsupported, sector sizes checked', async () => {
      await assert.rejects(loadDecompressor(0, 4096), UsageError);
      await assert.rejects(loadDecompressor(4, 4096), UnsupportedError);
      await assert.rejects(loadDecompressor(1, 3000), UsageError);
      await assert.rejects(loadDecompressor(1, 0), UsageError);
      assert.equal(await loadDecompressor(2, 4096), await loadDecompressor(2, 4096));
      assert.notEqual(await loadDecompressor(2, 4096), await loadDecompressor(2, 16384));
    });

    it('outputLength: bad values are usage errors, oversized ones corrupt (ram_bytes comes from the image)', () => {
      for (const d of Object.values(dec)) {
        assert.throws(() => d.decompress(new Uint8Array(10), -1), UsageError);
        assert.throws(() => d.decompress(new Uint8Array(10), 1.5), UsageError);
        assert.throws(() => d.decompress(new Uint8Array(10), Number.NaN), UsageError);
        expectCorrupt(() => d.decompress(new Uint8Array(10), MAX_UNCOMPRESSED + 1), /exceeds/);
        expectCorrupt(() => d.decompress(new Uint8Array(10), 2 ** 50), /exceeds/);
        expectCorrupt(() => d.decompressInline(new Uint8Array(10), SECTOR + 1), /sectorsize/);
      }
    });

    it('garbage and empty inputs are CorruptErrors for every algorithm', () => {
      const r = prng(7);
      for (const d of Object.values(dec)) {
        for (let k = 0; k < 50; k++) {
          const g = Uint8Array.from({ length: 1 + (r() % 9000) }, () => r() & 0xff);
          try {
            const out = d.decompress(g, 65536);
            assert.equal(out.length, 65536);
          } catch (e) {
            assert.ok(e instanceof CorruptError, `${d.name}: ${String(e)}`);
          }
          try {
            d.decompressInline(g.subarray(0, 1 + (g.length % 2000)), 3000);
          } catch (e) {
            assert.ok(e instanceof CorruptError, `${d.name} inline: ${String(e)}`);
          }
        }
        expectCorrupt(() => d.decompress(new Uint8Array(0), 4096));
        expectCorrupt(() => d.decompressInline(new Uint8Array(0), 100));
        assert.equal(d.decompress(new Uint8Array(0), 0).length, 0);
      }
    });
  });

  describe('zlib', () => {
    const data = text(100_000, 3);
    const z = deflate(data, { level: 9 });

    it('decodes a zlib stream and zero-fills past its end', () => {
      const out = dec.zlib.decompress(z, 131072);
      assert.deepEqual(out.subarray(0, data.length), data);
      assert.ok(out.subarray(data.length).every((b) => b === 0));
    });

    it('does not verify the adler32 trailer (the kernel inflates raw deflate)', () => {
      const bad = z.slice();
      bad[bad.length - 1]! ^= 0xff;
      assert.deepEqual(dec.zlib.decompress(bad, data.length), data);
    });

    it('rejects bad headers: wrong method, bad check bits, preset dictionary, window > 32 KiB', () => {
      const h = (a: number, b: number) => Uint8Array.from([a, b, ...z.subarray(2)]);
      expectCorrupt(() => dec.zlib.decompress(h(0x77, z[1]!), 4096), /bad stream header/);
      expectCorrupt(() => dec.zlib.decompress(h(z[0]!, z[1]! ^ 1), 4096), /bad stream header/);
      // 0x78 0xbb: FCHECK valid with FDICT set.
      expectCorrupt(() => dec.zlib.decompress(h(0x78, 0xbb), 4096), /preset dictionary/);
      // CINFO 8 (a 64 KiB window) with a valid FCHECK: 0x88 0x1c.
      expectCorrupt(() => dec.zlib.decompress(h(0x88, 0x1c), 4096), /window/);
    });

    it('reports a corrupt deflate body with its offset', () => {
      const bad = z.slice();
      bad.fill(0xff, 10, 40);
      expectCorrupt(() => dec.zlib.decompress(bad, data.length), /zlib: .* at input offset \d+/);
    });

    it('a deflate bomb is decoded only up to outputLength (an invalid block after 1 MiB is never reached)', () => {
      // 1 MiB of zeros, sync-flushed so the stream stays open and byte-aligned, then a block with
      // the reserved type 3. Decoding must stop at outputLength without seeing that block.
      const d = new Deflate({ level: 9 });
      d.push(new Uint8Array(1 << 20), Z_SYNC_FLUSH);
      const head = d.chunks.reduce((a, c) => Uint8Array.from([...a, ...c]), new Uint8Array(0));
      const bomb = Uint8Array.from([...head, 0x07, 0x00, 0x00, 0x00]);
      const t0 = performance.now();
      const out = dec.zlib.decompress(bomb, 131072);
      assert.equal(out.length, 131072);
      assert.ok(out.every((b) => b === 0));
      assert.ok(performance.now() - t0 < 1000, `took ${performance.now() - t0} ms`);
      // The same stream read to its end is corrupt, so the test above proves the early stop.
      expectCorrupt(() => {
        const all = new Inflate({ raw: true });
        all.push(bomb.subarray(2), true);
        if (all.err) throw new CorruptError(all.msg);
      }, /invalid block type/);
    });

    it('inline: more output than ram_bytes is cut, more than a sector is corrupt', () => {
      const small = deflate(data.subarray(0, 3000));
      assert.deepEqual(dec.zlib.decompressInline(small, 2000), data.subarray(0, 2000));
      expectCorrupt(() => dec.zlib.decompressInline(deflate(data.subarray(0, SECTOR + 1)), 100), /past sectorsize/);
    });
  });

  describe('lzo framing (fs/btrfs/lzo.c)', () => {
    for (const sectorSize of [4096, 8192, 16384, 65536]) {
      it(`sectorsize ${sectorSize}: skips padding before a header that would straddle a sector`, async () => {
        const d = await loadDecompressor(COMPRESSION.lzo, sectorSize);
        // First segment sized so it ends 2 bytes before the sector boundary:
        // 4 (total) + 4 (segment header) + stream length = sectorSize - 2.
        let firstLen = sectorSize - 10;
        while (lzoLiterals(new Uint8Array(firstLen)).length + 8 > sectorSize - 2) firstLen--;
        assert.equal(lzoLiterals(new Uint8Array(firstLen)).length + 8, sectorSize - 2);
        const payload = text(firstLen + 3000, sectorSize);
        const segs = [lzoLiterals(payload.subarray(0, firstLen)), lzoLiterals(payload.subarray(firstLen))];
        const frame = lzoFrame(segs, sectorSize);
        const layout = lzoLayout(frame, sectorSize);
        assert.deepEqual(layout.segments.map((s) => s.padding), [2, 0]);
        assert.equal(layout.segments[1]!.header, sectorSize);
        const out = d.decompress(frame, payload.length);
        assert.deepEqual(out, payload);
        // The same bytes framed for a different sector size put the header elsewhere; decoding with
        // the wrong size must fail, not silently misread.
        if (sectorSize !== 4096) {
          const wrong = await loadDecompressor(COMPRESSION.lzo, 4096);
          expectCorrupt(() => wrong.decompress(frame, payload.length));
        }
      });
    }

    it('a segment may produce more than a sector (the kernel allows up to lzo1x_worst_compress)', () => {
      const big = text(SECTOR + 200, 9);
      const frame = lzoFrame([lzoLiterals(big), lzoLiterals(text(100, 10))], SECTOR);
      const out = dec.lzo.decompress(frame, SECTOR + 300);
      assert.deepEqual(out.subarray(0, SECTOR + 200), big);
      assert.deepEqual(out.subarray(SECTOR + 200), text(100, 10));
      // But not more than lzo1x_worst_compress(sectorsize).
      const huge = text(lzo1xWorstCompress(SECTOR) + 1, 11);
      expectCorrupt(() => dec.lzo.decompress(lzoFrame([lzoLiterals(huge)], SECTOR), 8192), /(output overrun|exceeds sector bound)/);
    });

    it('segments that end early leave zeros (regular extent)', () => {
      const frame = lzoFrame([lzoLiterals(text(500, 4))], SECTOR);
      const out = dec.lzo.decompress(frame, 8192);
      assert.deepEqual(out.subarray(0, 500), text(500, 4));
      assert.ok(out.subarray(500).every((b) => b === 0));
    });

    it('header checks: total beyond the extent, unused whole sectors, oversize and overrunning segments', () => {
      const good = lzoFrame(lzoSegmentsFor(text(3 * SECTOR, 5), SECTOR), SECTOR);
      const set32 = (b: Uint8Array, at: number, v: number) => {
        b[at] = v & 0xff;
        b[at + 1] = (v >>> 8) & 0xff;
        b[at + 2] = (v >>> 16) & 0xff;
        b[at + 3] = v >>> 24;
      };
      let b = good.slice();
      set32(b, 0, good.length + 1);
      expectCorrupt(() => dec.lzo.decompress(b, 3 * SECTOR), /length header \d+ exceeds/);
      b = good.slice();
      set32(b, 0, 100);
      expectCorrupt(() => dec.lzo.decompress(b, 3 * SECTOR), /leaves whole sectors/);
      b = good.slice();
      set32(b, 4, 70000);
      expectCorrupt(() => dec.lzo.decompress(b, 3 * SECTOR), /lzo: segment 0 length 70000 exceeds sector bound 4419 at input offset 4/);
      b = good.slice();
      set32(b, 4, 4400);
      expectCorrupt(() => dec.lzo.decompress(b.subarray(0, 4096), 3 * SECTOR));
      // A 1..4-byte total means no segments at all: the kernel returns zeros, so do we.
      b = new Uint8Array(SECTOR);
      set32(b, 0, 4);
      assert.ok(dec.lzo.decompress(b, 4096).every((x) => x === 0));
    });

    it('the example from the brief: a segment length too big is named with its offset', () => {
      const frame = lzoFrame(lzoSegmentsFor(text(2 * SECTOR, 6), SECTOR), SECTOR);
      const second = lzoLayout(frame, SECTOR).segments[1]!.header;
      frame[second] = 70000 & 0xff;
      frame[second + 1] = (70000 >>> 8) & 0xff;
      frame[second + 2] = 70000 >>> 16;
      expectCorrupt(() => dec.lzo.decompress(frame, 2 * SECTOR), new RegExp(`segment 1 length 70000 exceeds sector bound 4419 at input offset ${second}`));
    });

    it('inline: one segment that fills the item, header == item size', () => {
      const data = text(3000, 12);
      const seg = lzoLiterals(data);
      const item = lzoFrame([seg], SECTOR, { padTo: 'none' });
      assert.equal(item.length, seg.length + 8);
      assert.deepEqual(dec.lzo.decompressInline(item, 3000), data);
      assert.deepEqual(dec.lzo.decompressInline(item, 10), data.subarray(0, 10));
      const twoSegs = lzoFrame([lzoLiterals(data.subarray(0, 1000)), lzoLiterals(data.subarray(1000))], SECTOR, { padTo: 'none' });
      expectCorrupt(() => dec.lzo.decompressInline(twoSegs, 3000), /inline segment length/);
      const padded = new Uint8Array(item.length + 4);
      padded.set(item);
      expectCorrupt(() => dec.lzo.decompressInline(padded, 3000), /differs from the inline item size/);
    });
  });

  describe('lzo1x', () => {
    const decode = (stream: number[], room = 64) => {
      const out = new Uint8Array(room);
      const src = Uint8Array.from(stream);
      const n = lzo1xDecompress(src, 0, src.length, out, 0, room);
      return new TextDecoder().decode(out.subarray(0, n));
    };
    const EOS = [0x11, 0x00, 0x00];
    const a = 'a'.charCodeAt(0);

    it('literal runs, M1, M2 (overlapping) and M3 matches', () => {
      assert.equal(decode([...EOS]), '');
      assert.equal(decode([17 + 3, a, a + 1, a + 2, ...EOS]), 'abc');
      // 1 literal (state 1), then M1: 2 bytes from distance 1.
      assert.equal(decode([18, a, 0x00, 0x00, ...EOS]), 'aaa');
      // "ab", then M2 length 6 distance 2: t = (5 << 5) | ((2 - 1) << 2) = 164.
      assert.equal(decode([19, a, a + 1, 164, 0, ...EOS]), 'abababab');
      // "abcd" (state 4), then M3 length 5 distance 4: t = 32 + 3, le16 = (4 - 1) << 2.
      assert.equal(decode([21, a, a + 1, a + 2, a + 3, 35, 12, 0, ...EOS]), 'abcdabcda');
      // A trailing literal after a match comes from the low bits of the distance.
      assert.equal(decode([19, a, a + 1, 164 | 1, 0, a + 25, ...EOS]), 'ababababz');
    });

    it('long literal runs use the 0x00-extended count', () => {
      const data = text(1000, 13);
      const s = lzoLiterals(data);
      const out = new Uint8Array(1000);
      assert.equal(lzo1xDecompress(s, 0, s.length, out, 0, 1000), 1000);
      assert.deepEqual(out, data);
    });

    it('the LZO-RLE bitstream (0x11, version) with a zero run, as the kernel accepts', () => {
      // abcd, then zero run: t = 0x18, le16 = 0xfffc, len = (0 | 2 << 3) + 4 = 20.
      const out = decode([0x11, 0x01, 21, a, a + 1, a + 2, a + 3, 0x18, 0xfc, 0xff, 0x02, ...EOS]);
      assert.equal(out, 'abcd' + '\0'.repeat(20));
    });

    it('every overrun is a CorruptError naming it', () => {
      const bad = (stream: number[], re: RegExp, room = 64) => expectCorrupt(() => decode(stream, room), re);
      bad([19, a, a + 1, 164 | (2 << 2), 0, ...EOS], /lookbehind overrun/); // distance 4 after 2 bytes
      bad([19, a, a + 1, 164, 0, ...EOS], /output overrun/, 4);
      bad([17 + 10, a, a], /input overrun/);
      bad([19, a, a + 1], /input overrun/);
      bad([...EOS, 0x00], /1 bytes after the end-of-stream marker/);
      bad([18, a, 0x12, 0x00, 0x00], /bad end-of-stream marker/); // M4 with zero distance, length 4
      bad([0x11, 0x00], /input overrun/);
      bad([], /input overrun/);
      bad([0x00, 0x00, 0x00, 0x00], /input overrun/); // a run length that never ends
    });

    it('back-references cannot reach before the segment start in a shared buffer', () => {
      const out = new Uint8Array(100).fill(0x41);
      const src = Uint8Array.from([18, a, 0x04, 0x00, ...EOS]); // M1 distance 2 from 1 byte
      expectCorrupt(() => lzo1xDecompress(src, 0, src.length, out, 50, 100), /lookbehind overrun/);
    });
  });

  describe('zstd', () => {
    it('frame header: Btrfs frames carry a content size and a window within 128 KiB', () => {
      const v = manifest.vectors.find((x) => x.compression === 'zstd' && !x.inline)!;
      const h = parseZstdFrameHeader(vectorBytes(v));
      assert.ok(h.windowSize <= 131072);
      assert.equal(h.contentSize, v.ram_bytes);
    });

    it('raw and RLE blocks, zero-filled past the frame end, trailing bytes ignored', () => {
      const raw = text(5000, 14);
      const frame = zstdFrame({ blocks: [{ type: 'raw', data: raw }, { type: 'rle', data: 0x7a, size: 1000 }] });
      const withTail = new Uint8Array(frame.length + 300).fill(0x33);
      withTail.set(frame);
      for (const input of [frame, withTail]) {
        const out = dec.zstd.decompress(input, 8192);
        assert.deepEqual(out.subarray(0, 5000), raw);
        assert.ok(out.subarray(5000, 6000).every((b) => b === 0x7a));
        assert.ok(out.subarray(6000).every((b) => b === 0));
      }
    });

    it('an RLE bomb (2.5 GiB claimed) is decoded only as far as outputLength', () => {
      const blocks = Array.from({ length: 20_000 }, () => ({ type: 'rle' as const, data: 0x61, size: 131072 }));
      const bomb = zstdFrame({ blocks });
      // A reserved block type far down the frame: reaching it would be an error, so success below
      // also shows that neither the block walk nor the decoder went there.
      bomb[6 + 4 * 10_000] |= 0x06;
      const t0 = performance.now();
      const out = dec.zstd.decompress(bomb, 131072);
      assert.equal(out.length, 131072);
      assert.ok(out.every((b) => b === 0x61));
      assert.ok(performance.now() - t0 < 500, `took ${performance.now() - t0} ms`);
    });

    it('refuses windows above 128 KiB, dictionaries, reserved blocks, bad magic, skippable frames', () => {
      const one = [{ type: 'raw' as const, data: text(100) }];
      expectCorrupt(() => dec.zstd.decompress(zstdFrame({ windowLog: 23, blocks: one }), 100), /8388608-byte window/);
      expectCorrupt(() => dec.zstd.decompress(zstdFrame({ dictId: 7, blocks: one }), 100), /dictionary 7/);
      const reserved = zstdFrame({ blocks: one });
      reserved[6]! |= 0x06; // block type 3
      expectCorrupt(() => dec.zstd.decompress(reserved, 100), /reserved block type/);
      const magic = zstdFrame({ blocks: one });
      magic[0] = 0x29;
      expectCorrupt(() => dec.zstd.decompress(magic, 100), /bad frame magic/);
      const skip = Uint8Array.from([0x50, 0x2a, 0x4d, 0x18, 0, 0, 0, 0]);
      expectCorrupt(() => dec.zstd.decompress(skip, 100), /skippable/);
      // An RLE block larger than the window is not a zstd block.
      expectCorrupt(() => dec.zstd.decompress(zstdFrame({ windowLog: 10, blocks: [{ type: 'rle', data: 1, size: 2000 }] }), 100), /block maximum/);
    });

    it('a content size that disagrees with the blocks, or a wrong checksum, is caught by the decoder', () => {
      const raw = text(3000, 15);
      expectCorrupt(() => dec.zstd.decompress(zstdFrame({ fcs: 2000, blocks: [{ type: 'raw', data: raw }] }), 4096));
      expectCorrupt(() => dec.zstd.decompress(zstdFrame({ checksum: true, blocks: [{ type: 'raw', data: raw }] }), 4096));
    });

    it('a frame cut short is corrupt (the kernel would zero-fill; Btrfs never writes one)', () => {
      const frame = zstdFrame({ blocks: [{ type: 'raw', data: text(5000) }, { type: 'raw', data: text(5000, 2) }] });
      expectCorrupt(() => dec.zstd.decompress(frame.subarray(0, frame.length - 10), 10000), /truncated/);
      // ...unless the part needed is all there.
      assert.deepEqual(dec.zstd.decompress(frame.subarray(0, 5020), 5000), text(5000));
    });

    it('inline: short output is corrupt, longer output is cut', () => {
      const frame = zstdFrame({ blocks: [{ type: 'raw', data: text(3000, 16) }] });
      assert.deepEqual(dec.zstd.decompressInline(frame, 2500), text(3000, 16).subarray(0, 2500));
      expectCorrupt(() => dec.zstd.decompressInline(frame, 3001), /inline extent decompressed to 3000 bytes/);
    });

    it('keeps working after thousands of frames and failures (no leaked decoder state)', () => {
      const v = manifest.vectors.find((x) => x.compression === 'zstd' && !x.inline)!;
      const input = vectorBytes(v);
      const garbage = input.slice();
      garbage.fill(0x5a, 20, 400);
      for (let i = 0; i < 2000; i++) {
        try {
          dec.zstd.decompress(garbage, v.ram_bytes);
        } catch (e) {
          assert.ok(e instanceof CorruptError);
        }
      }
      assert.equal(sha256(dec.zstd.decompress(input, v.ram_bytes)), v.sha256);
    });

    it('a decoder reused across frames starts each frame clean, whatever the frame before did', () => {
      // Decoders are kept between frames; one left mid-frame (output cut short) or failed must not be.
      const kernel = manifest.vectors.filter((x) => x.compression === 'zstd' && !x.inline).slice(0, 3);
      const raw = text(5000, 17);
      const twoBlocks = zstdFrame({ blocks: [{ type: 'raw', data: raw }, { type: 'raw', data: text(5000, 18) }] });
      const badChecksum = zstdFrame({ checksum: true, blocks: [{ type: 'raw', data: raw }] });
      badChecksum[badChecksum.length - 1]! ^= 0xff;
      for (const v of kernel) {
        const input = vectorBytes(v);
        assert.equal(sha256(dec.zstd.decompress(input, v.ram_bytes)), v.sha256, v.file);
        assert.deepEqual(dec.zstd.decompress(twoBlocks, 5000), raw); // stops after the first block
        assert.equal(sha256(dec.zstd.decompress(input, v.ram_bytes)), v.sha256, `${v.file} after a cut-short frame`);
        expectCorrupt(() => dec.zstd.decompress(badChecksum, 5000));
        assert.equal(sha256(dec.zstd.decompress(input, v.ram_bytes)), v.sha256, `${v.file} after a failed frame`);
        assert.equal(sha256(dec.zstd.decompress(input, v.ram_bytes)), v.sha256, `${v.file} twice in a row`);
      }
    });
  });

  it('every error raised is a BtrfsError subclass (never RangeError/TypeError)', () => {
    const inputs = [new Uint8Array(0), Uint8Array.from([0x28, 0xb5, 0x2f, 0xfd]), Uint8Array.from([0x78, 0x9c]), new Uint8Array(5).fill(0xff)];
    for (const d of Object.values(dec)) {
      for (const input of inputs) {
        for (const n of [1, 4096]) {
          for (const f of [() => d.decompress(input, n), () => d.decompressInline(input, n)]) {
            try {
              f();
            } catch (e) {
              assert.ok(e instanceof BtrfsError, `${d.name}: ${String(e)}`);
            }
          }
        }
      }
    }
  });
});
