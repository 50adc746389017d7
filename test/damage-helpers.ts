// Damaging copies of fixtures for the damage and check tests: private sparse copies of the device
// files (the originals are never written), where each data sector and tree block of an image lies on
// every copy (and, for RAID5/6, on every member of its row), and the manifest read back.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { Filesystem } from '../lib/fs/filesystem.js';
import type { Btrfs } from '../lib/index.js';
import { CSUM_SIZE, KeyType, ObjectId } from '../lib/ondisk/constants.js';
import { key, U64_MAX } from '../lib/ondisk/key.js';
import { decodeRootItem } from '../lib/ondisk/items/root-item.js';
import { itemData } from '../lib/ondisk/node.js';
import { Tree } from '../lib/tree/tree.js';
import type { MappedChunk } from '../lib/volume/chunk-map.js';
import { raid56Row, type StripePlace } from '../lib/volume/raid.js';
import { fixtureImages, loadManifest } from './helpers/fixtures.js';

export const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

export interface TempImage {
  dir: string;
  /** Device files present, in devid order. */
  paths: string[];
  cleanup(): Promise<void>;
}

/** Sparse copies of a fixture's device files in a new folder, leaving out the indices in `drop`. */
export async function tempCopy(name: string, drop: number[] = []): Promise<TempImage> {
  const images = await fixtureImages(name);
  const dir = await mkdtemp(join(tmpdir(), `btrfs-lens-damage-${name}-`));
  const paths: string[] = [];
  images.forEach((src, i) => {
    if (drop.includes(i)) return;
    const dest = join(dir, basename(src));
    execFileSync('cp', ['--sparse=always', src, dest]);
    paths.push(dest);
  });
  return { dir, paths, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export function writeAt(path: string, offset: bigint, bytes: Buffer): void {
  const fd = openSync(path, 'r+');
  try {
    writeSync(fd, bytes, 0, bytes.length, Number(offset));
  } finally {
    closeSync(fd);
  }
}

/** Bytes that differ from anything a fixture holds, so damage is never accidentally a no-op. */
export function garbage(n: number, seed = 0): Buffer {
  const b = Buffer.alloc(n);
  let x = 0x9e3779b9 ^ seed;
  for (let i = 0; i < n; i++) {
    x = Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) + 0x6b;
    b[i] = x >>> 24;
  }
  return b;
}

/** Files of the manifest whose content, read through the API, is not the kernel's (or fails). */
export async function manifestDiffs(fs: Btrfs, name: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of loadManifest(name).entries) {
    if (e.type !== 'file') continue;
    try {
      const got = sha256(await fs.readFile(e.path));
      if (got !== e.sha256) out.push(`${e.path}: content differs`);
    } catch (err) {
      out.push(`${e.path}: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
    }
  }
  return out;
}

export interface Copy {
  /** Device file path. */
  device: string;
  devid: bigint;
  physical: bigint;
}

export interface RowPlace {
  chunk: MappedChunk;
  row: bigint;
  inUnit: bigint;
  dataIndex: number;
  /** Data stripes of the row at this offset, then P, then Q (RAID6). */
  members: Copy[];
}

export interface DataSector {
  path: string;
  fileOffset: bigint;
  logical: bigint;
  /** Every stored copy (for RAID5/6 the data stripe). */
  copies: Copy[];
  row?: RowPlace;
}

function copyOf(fs: Filesystem, chunk: MappedChunk, p: StripePlace): Copy {
  const devid = chunk.stripes[p.stripe]!.devid;
  return { device: fs.devices.devices.get(devid)?.source.name ?? `(missing devid ${devid})`, devid, physical: p.physical };
}

export function placesOf(fs: Filesystem, logical: bigint): { copies: Copy[]; row?: RowPlace } {
  const chunk = fs.volume.chunkAt(logical);
  const copies = fs.volume.places(logical).map((p) => ({ device: p.device ?? `(missing devid ${p.devid})`, devid: p.devid, physical: p.physical }));
  if (chunk.profile !== 'raid5' && chunk.profile !== 'raid6') return { copies };
  const r = raid56Row(chunk, chunk.profile, logical - chunk.logical);
  const members = [...r.data, r.p, ...(r.q ? [r.q] : [])].map((p) => copyOf(fs, chunk, p));
  return { copies, row: { chunk, row: r.row, inUnit: r.inUnit, dataIndex: r.dataIndex, members } };
}

/** Every on-disk sector a file's regular extents point at (the whole extent when compressed). */
export async function dataSectors(fs: Btrfs, path: string): Promise<DataSector[]> {
  const S = BigInt(fs.filesystem.sectorsize);
  const { extents } = await fs.fileExtents(path);
  const out: DataSector[] = [];
  for (const x of extents) {
    const e = x.extent;
    if (e.kind === 'inline' || e.diskBytenr === 0n || e.kind === 'prealloc') continue;
    const compressed = e.compression !== 0;
    const from = compressed ? e.diskBytenr : e.diskBytenr + e.offset;
    const to = compressed ? e.diskBytenr + e.diskNumBytes : from + e.numBytes;
    for (let logical = from; logical < to; logical += S) {
      out.push({ path, fileOffset: compressed ? x.fileOffset : x.fileOffset + (logical - from), logical, ...placesOf(fs.filesystem, logical) });
    }
  }
  return out;
}

export interface BlockPlace {
  bytenr: bigint;
  tree: bigint;
  level: number;
  copies: Copy[];
  row?: RowPlace;
}

/** Every tree block reachable from the superblock's trees and the root tree's ROOT_ITEMs. */
export async function treeBlocks(fs: Filesystem): Promise<BlockPlace[]> {
  const out: BlockPlace[] = [];
  const seen = new Set<bigint>();
  const visit = async (tree: Tree): Promise<void> => {
    for await (const b of tree.blocks()) {
      if (seen.has(b.header.bytenr)) continue;
      seen.add(b.header.bytenr);
      out.push({ bytenr: b.header.bytenr, tree: tree.root.id, level: b.level, ...placesOf(fs, b.header.bytenr) });
      if (tree.root.id !== ObjectId.ROOT_TREE || b.level !== 0) continue;
      for (let slot = 0; slot < b.items.length; slot++) {
        const k = b.items[slot]!.key;
        if (k.type !== KeyType.ROOT_ITEM) continue;
        const r = decodeRootItem(itemData(b, slot));
        await visit(new Tree(fs.blocks, { id: k.objectid, bytenr: r.bytenr, level: r.level, generation: r.generation }));
      }
    }
  };
  await visit(fs.chunkTree);
  await visit(fs.rootTree);
  return out;
}

/**
 * A leaf of tree `tree` with one item edited and its checksum recomputed (damage that passes the
 * checksum and must be caught by what comes after), written over every copy of the leaf.
 */
export async function forgeItem(
  fs: Filesystem, tree: bigint,
  find: (k: { objectid: bigint; type: number; offset: bigint }, data: Buffer) => boolean,
  edit: (leaf: Buffer, at: number, size: number) => void,
): Promise<{ bytenr: bigint; write: () => void }> {
  const t = tree === ObjectId.ROOT_TREE ? fs.rootTree : tree === ObjectId.CHUNK_TREE ? fs.chunkTree : await fs.tree(tree);
  for await (const it of t.range(key(0n, 0, 0n), key(U64_MAX, 255, U64_MAX))) {
    if (!find(it.key, it.data)) continue;
    const block = await fs.blocks.read(it.block);
    const leaf = Buffer.from(block.buf);
    const li = block.items[it.slot]!;
    edit(leaf, li.dataOffset, li.size);
    return { bytenr: it.block, write: () => forgeBlock(fs, it.block, leaf) };
  }
  throw new Error(`no such item in tree ${tree}`);
}

/** Write `block` (checksum recomputed) over every copy of the tree block at `bytenr`. */
export function forgeBlock(fs: Filesystem, bytenr: bigint, block: Buffer): void {
  block.fill(0, 0, CSUM_SIZE);
  Buffer.from(fs.checksummer.digest(block.subarray(CSUM_SIZE))).copy(block, 0);
  for (const c of placesOf(fs, bytenr).copies) writeAt(c.device, c.physical, block);
}
