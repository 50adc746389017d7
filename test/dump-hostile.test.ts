// dump-tree and dump-super on damaged images: seeded mutations of real tree blocks and superblocks.
// progs prints damaged blocks as far as it can, and so must we; any outcome is fine except an error
// that is not one of the library's (a RangeError from a printer, say) or a walk that does not end.

process.env.TZ = 'UTC';

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BtrfsError } from '../lib/errors.js';
import { buildSuperblock, DocumentSink, dumpTree, renderDumpSuper, TextSink, type DumpTreeOptions } from '../lib/dump/index.js';
import { Filesystem } from '../lib/fs/filesystem.js';
import { SUPERBLOCK_OFFSETS, SUPERBLOCK_SIZE } from '../lib/ondisk/constants.js';
import { chunkHead } from '../lib/ondisk/items/chunk.js';
import { diskKey } from '../lib/ondisk/key.js';
import { HEADER_SIZE } from '../lib/ondisk/node.js';
import { superBlock } from '../lib/ondisk/superblock.js';
import { fixtureImages } from './helpers/fixtures.js';
import { prng as rng } from './helpers/prng.js';


async function expectOnlyLibraryErrors(what: string, run: () => Promise<unknown>): Promise<void> {
  try {
    await run();
  } catch (e) {
    if (!(e instanceof BtrfsError)) assert.fail(`${what}: ${e instanceof Error ? `${e.name}: ${e.message}\n${e.stack}` : String(e)}`);
  }
}

const OPTION_SETS: DumpTreeOptions[] = [
  {},
  { extents: true },
  { traverse: 'dfs', csumHeaders: true, csumItems: true, hideNames: true },
  { roots: true, backups: true },
];

for (const [fixture, seeds] of [['mixed', 80], ['node4k', 24]] as const) {
describe(`dump on damaged images: ${fixture}`, function () {
  let work: string;
  let image: string;
  /** Every tree block of the pristine image, with the file offsets of each copy. */
  let blocks: Array<{ bytenr: bigint; places: number[] }>;
  let nodesize: number;

  before(async () => {
    const [src] = await fixtureImages(fixture);
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'btrfs-lens-dump-'));
    image = path.join(work, path.basename(src!));
    fs.copyFileSync(src!, image);
    const f = await Filesystem.open([image], { scanFolder: false });
    try {
      nodesize = f.nodesize;
      const sink = new DocumentSink(f.sectorsize);
      await dumpTree(f, {}, sink);
      const seen = new Set<bigint>();
      blocks = [];
      for (const sec of sink.doc.sections) {
        if (sec.kind !== 'tree') continue;
        for (const b of sec.blocks) {
          const bytenr = BigInt(b.header.bytenr);
          if (seen.has(bytenr)) continue;
          seen.add(bytenr);
          blocks.push({ bytenr, places: f.volume.places(bytenr).map((p) => Number(p.physical)) });
        }
      }
    } finally {
      await f.close();
    }
    assert.ok(blocks.length > 5);
  });

  after(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('tree blocks with random damage: every walk ends, only library errors', async function () {
    this.timeout(600_000);
    const fd = fs.openSync(image, 'r+');
    try {
      for (let seed = 1; seed <= seeds; seed++) {
        const rand = rng(seed);
        const saved: Array<{ at: number; bytes: Buffer }> = [];
        const victims = 1 + Math.floor(rand() * 3);
        for (let v = 0; v < victims; v++) {
          const blk = blocks[Math.floor(rand() * blocks.length)]!;
          // Mostly the item area (what the printers read), sometimes nritems or level in the header.
          const header = rand() < 0.25;
          const off = header ? (rand() < 0.5 ? 96 : 100) : HEADER_SIZE + Math.floor(rand() * (nodesize - HEADER_SIZE - 8));
          const len = header ? 1 : 1 + Math.floor(rand() * 64);
          const noise = Buffer.from(Array.from({ length: len }, () => Math.floor(rand() * 256)));
          for (const place of blk.places) {
            const old = Buffer.alloc(len);
            fs.readSync(fd, old, 0, len, place + off);
            saved.push({ at: place + off, bytes: old });
            fs.writeSync(fd, noise, 0, len, place + off);
          }
        }
        await expectOnlyLibraryErrors(`seed ${seed}: open`, async () => {
          const f = await Filesystem.open([image], { scanFolder: false });
          try {
            for (const opts of [...OPTION_SETS, { blocks: blocks.slice(0, 3).map((b) => b.bytenr), follow: true }]) {
              await expectOnlyLibraryErrors(`seed ${seed}: dump-tree ${JSON.stringify(opts, (_k, x) => (typeof x === 'bigint' ? String(x) : x))}`, async () => {
                let bytes = 0;
                const sink = new TextSink(f.sectorsize, (s) => { bytes += s.length; }, () => undefined);
                await sink.start();
                await dumpTree(f, opts, sink);
                // Every block is printed at most once per tree: the output stays near the image's metadata size.
                assert.ok(bytes < 64 * 1024 * 1024, `seed ${seed}: ${bytes} bytes of output`);
              });
            }
          } finally {
            await f.close();
          }
        });
        for (const s of saved.reverse()) fs.writeSync(fd, s.bytes, 0, s.bytes.length, s.at);
      }
    } finally {
      fs.closeSync(fd);
    }
  });

  it('superblocks with random damage print without throwing', async () => {
    const buf = Buffer.alloc(SUPERBLOCK_SIZE);
    const fd = fs.openSync(image, 'r');
    try {
      fs.readSync(fd, buf, 0, SUPERBLOCK_SIZE, Number(SUPERBLOCK_OFFSETS[0]));
    } finally {
      fs.closeSync(fd);
    }
    for (let seed = 1; seed <= 300; seed++) {
      const rand = rng(seed);
      const sb = Buffer.from(buf);
      const n = 1 + Math.floor(rand() * 40);
      for (let i = 0; i < n; i++) sb[Math.floor(rand() * SUPERBLOCK_SIZE)] = Math.floor(rand() * 256);
      // Sometimes the fields that steer decoding: csum type, sys_chunk_array size, a stripe count.
      if (rand() < 0.3) sb.writeUInt16LE(Math.floor(rand() * 6), superBlock.offsetOf('csum_type'));
      if (rand() < 0.3) sb.writeUInt32LE(Math.floor(rand() * 4096), superBlock.offsetOf('sys_chunk_array_size'));
      if (rand() < 0.3) sb.writeUInt16LE(Math.floor(rand() * 300), superBlock.offsetOf('sys_chunk_array') + diskKey.size + chunkHead.offsetOf('num_stripes'));
      await expectOnlyLibraryErrors(`superblock seed ${seed}`, async () => {
        const model = await buildSuperblock(sb);
        const doc = {
          format: 'btrfs-lens dump-super' as const, version: 1 as const, progs: 'btrfs-progs v6.2' as const, full: true, all: false,
          devices: [{ device: 'x', copies: [{ bytenr: '65536', state: 'ok' as const, superblock: model }] }],
        };
        assert.ok(renderDumpSuper(doc).stdout.length > 0);
      });
    }
  });
});
}
