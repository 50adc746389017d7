// What the mutators aim at in a clean fixture: where every tree block and each of its copies lies on
// the device files, where data extents lie, the superblocks, and the checksum algorithm (to forge
// valid block checksums over corrupted contents). Learned once per fixture from the clean images.

import { stat } from 'node:fs/promises';
import { loadChecksummer, type Checksummer } from '../../lib/checksum/index.js';
import { Filesystem } from '../../lib/fs/filesystem.js';
import { ExtentFlag, KeyType, ObjectId, SUPERBLOCK_OFFSETS, SUPERBLOCK_SIZE } from '../../lib/ondisk/constants.js';
import { decodeExtentItem } from '../../lib/ondisk/items/extent-item.js';
import { decodeRootItem } from '../../lib/ondisk/items/root-item.js';
import { key, U64_MAX } from '../../lib/ondisk/key.js';
import { itemData, type TreeBlock } from '../../lib/ondisk/node.js';
import { Tree } from '../../lib/tree/tree.js';
import { fixtureImages, loadManifest } from '../helpers/fixtures.js';

export interface Place {
  /** Index into Corpus.images. */
  device: number;
  /** Byte offset in that image file (partition offset included). */
  offset: number;
}

export interface BlockInfo {
  bytenr: bigint;
  tree: bigint;
  level: number;
  nritems: number;
  /** Every copy as stored (for RAID5/6 the data stripe). */
  places: Place[];
  /** Parent block, for loops (a child pointer aimed back at an ancestor). */
  parent?: bigint;
}

export interface Corpus {
  fixture: string;
  images: string[];
  sizes: number[];
  /** Byte offset of the filesystem inside each image (a partition's start), else 0. */
  base: number[];
  nodesize: number;
  sectorsize: number;
  checksummer: Checksummer;
  blocks: BlockInfo[];
  /** Data sectors with a place on each copy. */
  dataSectors: Array<{ logical: bigint; places: Place[] }>;
  superblocks: Place[];
}

const corpora = new Map<string, Promise<Corpus>>();

export function corpusOf(fixture: string): Promise<Corpus> {
  let c = corpora.get(fixture);
  if (!c) {
    c = build(fixture);
    corpora.set(fixture, c);
  }
  return c;
}

async function build(fixture: string): Promise<Corpus> {
  const images = await fixtureImages(fixture);
  const manifest = loadManifest(fixture);
  const fs = await Filesystem.open([images[0]!], {});
  try {
    const sb = fs.superblock;
    const checksummer = await loadChecksummer(sb.csum_type);
    // Device files in devid order, as fixtureImages gives them; a partition shifts every offset.
    const devIndex = new Map<bigint, number>();
    const sorted = [...fs.devices.devices.values()].sort((a, b) => (a.devid < b.devid ? -1 : 1));
    sorted.forEach((d, i) => devIndex.set(d.devid, i));
    const base = images.map(() => (manifest.partition ? manifest.partition.offset : 0));
    const placesOf = (logical: bigint): Place[] =>
      fs.volume.places(logical).flatMap((p) => {
        const i = devIndex.get(p.devid);
        return i === undefined ? [] : [{ device: i, offset: base[i]! + Number(p.physical) }];
      });
    const blocks: BlockInfo[] = [];
    const seen = new Set<bigint>();
    const visit = async (tree: Tree) => {
      const parents = new Map<bigint, bigint>();
      for await (const b of tree.blocks()) {
        const bytenr = b.header.bytenr;
        for (const p of b.ptrs) parents.set(p.blockptr, bytenr);
        if (seen.has(bytenr)) continue;
        seen.add(bytenr);
        const info: BlockInfo = { bytenr, tree: tree.root.id, level: b.level, nritems: b.header.nritems, places: placesOf(bytenr) };
        const parent = parents.get(bytenr);
        if (parent !== undefined) info.parent = parent;
        blocks.push(info);
        if (tree.root.id === ObjectId.ROOT_TREE) for (const t of rootsIn(fs, b)) await visit(t);
      }
    };
    await visit(fs.chunkTree);
    await visit(fs.rootTree);
    if (sb.log_root !== 0n) await visit(new Tree(fs.blocks, { id: ObjectId.TREE_LOG, bytenr: sb.log_root, level: sb.log_root_level }));
    const dataSectors: Corpus['dataSectors'] = [];
    const extentTree = await fs.tree(ObjectId.EXTENT_TREE);
    for await (const it of extentTree.range(key(0n, 0, 0n), key(U64_MAX, 255, U64_MAX))) {
      if (it.key.type !== KeyType.EXTENT_ITEM) continue;
      const e = decodeExtentItem(it.data, it.key.type);
      if (!(e.flags & ExtentFlag.DATA)) continue;
      for (let at = it.key.objectid; at < it.key.objectid + it.key.offset && dataSectors.length < 20000; at += BigInt(sb.sectorsize)) {
        dataSectors.push({ logical: at, places: placesOf(at) });
      }
    }
    const sizes = await Promise.all(images.map(async (p) => (await stat(p)).size));
    const superblocks: Place[] = [];
    images.forEach((_, i) => {
      for (const at of SUPERBLOCK_OFFSETS) if (base[i]! + Number(at) + SUPERBLOCK_SIZE <= sizes[i]!) superblocks.push({ device: i, offset: base[i]! + Number(at) });
    });
    return { fixture, images, sizes, base, nodesize: sb.nodesize, sectorsize: sb.sectorsize, checksummer, blocks, dataSectors, superblocks };
  } finally {
    await fs.close();
  }
}

function rootsIn(fs: Filesystem, block: TreeBlock): Tree[] {
  const out: Tree[] = [];
  for (let slot = 0; slot < block.items.length; slot++) {
    const k = block.items[slot]!.key;
    if (k.type !== KeyType.ROOT_ITEM) continue;
    const r = decodeRootItem(itemData(block, slot));
    out.push(new Tree(fs.blocks, { id: k.objectid, bytenr: r.bytenr, level: r.level, generation: r.generation }));
  }
  return out;
}
