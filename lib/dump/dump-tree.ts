// dump-tree: which trees and blocks to print, in the order btrfs-progs 6.2's `inspect-internal
// dump-tree` prints them. The root tree, the chunk tree and the log root tree come first; then every
// tree the root tree (and then the log root tree) has a ROOT_ITEM for, in key order; then backup roots
// (-R) and a summary. Blocks of a tree are printed breadth-first by default (all nodes of a level, left
// to right, then the next level down), depth-first with --dfs, only leaves with -e.
//
// Output goes to a sink as it is produced, so a text dump of a large filesystem streams; the document
// sink collects the same parts into the --json document.

import type { Filesystem } from '../fs/filesystem.js';
import { KeyType, ObjectId } from '../ondisk/constants.js';
import type { Key } from '../ondisk/key.js';
import { header as headerStruct, HEADER_SIZE, item as itemStruct, keyPtr as keyPtrStruct } from '../ondisk/node.js';
import { rootItem } from '../ondisk/items/root-item.js';
import { metadataFsid } from '../ondisk/superblock.js';
import { formatUuid } from '../ondisk/uuid.js';
import { buildBlock, type BlockContext, type BlockModel } from './block.js';
import { keyModel } from './common.js';
import type { BackupRoot, DumpMessage, Section } from './document.js';
import { DumpBlockReader, type ReadBlock } from './reader.js';

export interface DumpTreeOptions {
  /** -t: only this tree (the root, chunk and log root trees by their ids too). */
  tree?: bigint | undefined;
  /** -b: only these blocks (repeatable). */
  blocks?: bigint[] | undefined;
  /** --follow: with -b, the blocks' children too. */
  follow?: boolean | undefined;
  /** -e: only leaves of the extent and device trees. */
  extents?: boolean | undefined;
  /** -d: only the root, chunk, log root and device trees. */
  device?: boolean | undefined;
  /** -r: where each tree's root is, no blocks. */
  roots?: boolean | undefined;
  /** -R: -r and the superblock's backup roots. */
  backups?: boolean | undefined;
  /** -u: only the uuid tree. */
  uuid?: boolean | undefined;
  /** Traversal: breadth-first (progs' default) or depth-first (--dfs). */
  traverse?: 'bfs' | 'dfs' | undefined;
  hideNames?: boolean | undefined;
  csumHeaders?: boolean | undefined;
  csumItems?: boolean | undefined;
}

export interface DumpTreeSink {
  /** A new section; tree and blocks sections arrive empty and are filled by block() and message(). */
  section(sec: Section): void | Promise<void>;
  /** May return a promise: the walk waits for it, so a slow reader of the output slows the walk down. */
  block(b: BlockModel): void | Promise<void>;
  message(m: DumpMessage): void;
}

/** The tree names of dump-tree's headings, by ROOT_ITEM objectid ("file" for subvolumes). */
const TREE_LABELS = new Map<bigint, string>([
  [ObjectId.ROOT_TREE, 'root'],
  [ObjectId.EXTENT_TREE, 'extent'],
  [ObjectId.CHUNK_TREE, 'chunk'],
  [ObjectId.DEV_TREE, 'device'],
  [ObjectId.FS_TREE, 'fs'],
  [ObjectId.ROOT_TREE_DIR, 'directory'],
  [ObjectId.CSUM_TREE, 'checksum'],
  [ObjectId.ORPHAN, 'orphan'],
  [ObjectId.TREE_LOG, 'log'],
  [ObjectId.TREE_LOG_FIXUP, 'log fixup'],
  [ObjectId.TREE_RELOC, 'reloc'],
  [ObjectId.DATA_RELOC_TREE, 'data reloc'],
  [ObjectId.EXTENT_CSUM, 'extent checksum'],
  [ObjectId.QUOTA_TREE, 'quota'],
  [ObjectId.UUID_TREE, 'uuid'],
  [ObjectId.FREE_SPACE_TREE, 'free space'],
  [ObjectId.MULTIPLE, 'multiple'],
  [ObjectId.BLOCK_GROUP_TREE, 'block group'],
]);

/** Where struct btrfs_root_item keeps bytenr (after the inode item, generation and root_dirid). */
const ROOT_ITEM_BYTENR = rootItem.offsetOf('bytenr');

class Walker {
  readonly reader: DumpBlockReader;
  private readonly full: BlockContext;
  private readonly plain: BlockContext;

  constructor(fs: Filesystem, private readonly opts: DumpTreeOptions, private readonly sink: DumpTreeSink) {
    const sb = fs.superblock;
    this.reader = new DumpBlockReader(fs.volume, fs.checksummer, metadataFsid(sb), sb.nodesize, (m) => sink.message(m));
    const base = { hideNames: !!opts.hideNames, csumSize: fs.checksummer.size, sectorsize: sb.sectorsize };
    this.full = { ...base, csumHeaders: !!opts.csumHeaders, csumItems: !!opts.csumItems };
    // -e prints leaves through a path that ignores the checksum options.
    this.plain = { ...base, csumHeaders: false, csumItems: false };
  }

  private error(text: string): void {
    this.sink.message({ level: 'error', text });
  }

  private warning(text: string): void {
    this.sink.message({ level: 'warning', text });
  }

  private async emit(blk: ReadBlock, ctx: BlockContext): Promise<void> {
    await this.sink.block(buildBlock(blk.buf, ctx));
  }

  private children(blk: ReadBlock): Array<{ blockptr: bigint; generation: bigint }> {
    const h = headerStruct.decode(blk.buf, 0);
    const max = Math.floor((blk.buf.length - HEADER_SIZE) / keyPtrStruct.size);
    const out = [];
    for (let i = 0; i < Math.min(h.nritems, max); i++) {
      const p = keyPtrStruct.decode(blk.buf, HEADER_SIZE + i * keyPtrStruct.size);
      out.push({ blockptr: p.blockptr, generation: p.generation });
    }
    return out;
  }

  private owner(blk: ReadBlock): bigint {
    return headerStruct.decode(blk.buf, 0).owner;
  }

  /** btrfs_print_tree with FOLLOW: the block, then (for a node) everything under it. */
  async printTree(root: ReadBlock, follow: boolean): Promise<void> {
    await this.emit(root, this.full);
    if (root.level === 0 || !follow) return;
    if (this.opts.traverse === 'dfs') await this.dfs(root, new Set([root.bytenr]));
    else await this.bfs(root);
  }

  private async dfs(node: ReadBlock, seen: Set<bigint>): Promise<void> {
    const kids = this.children(node);
    for (let i = 0; i < kids.length; i++) {
      const { blockptr, generation } = kids[i]!;
      const next = await this.reader.read(blockptr, generation);
      if (!next) {
        this.sink.message({ level: 'note', text: `failed to read ${blockptr} in tree ${this.owner(node)}` });
        continue;
      }
      if (next.level !== node.level - 1) {
        this.warning(
          `eb corrupted: parent bytenr ${node.bytenr} slot ${i} level ${node.level} child bytenr ${blockptr} level has ${next.level} expect ${node.level - 1}, skipping the slot`,
        );
        continue;
      }
      // Levels strictly decrease, so only a block reached twice (a DAG, never a valid tree) could repeat work.
      if (seen.has(blockptr)) {
        this.warning(`tree block ${blockptr} is referenced more than once in this tree, printed once`);
        continue;
      }
      seen.add(blockptr);
      await this.emit(next, this.full);
      if (next.level > 0) await this.dfs(next, seen);
    }
  }

  /** Level by level from the root down, each level left to right, as bfs_print_children does. */
  private async bfs(root: ReadBlock): Promise<void> {
    for (let level = root.level - 1; level >= 0; level--) {
      const seen = new Set<bigint>();
      if (!(await this.printLevel(root, level, seen))) return;
    }
  }

  /** Print the blocks at `level` under `node`; false when a block could not be read (progs stops there). */
  private async printLevel(node: ReadBlock, level: number, seen: Set<bigint>): Promise<boolean> {
    for (const { blockptr, generation } of this.children(node)) {
      if (seen.has(blockptr)) {
        this.warning(`tree block ${blockptr} is referenced more than once in this tree, printed once`);
        continue;
      }
      seen.add(blockptr);
      const next = await this.reader.read(blockptr, generation);
      if (!next) return false;
      if (next.level !== node.level - 1) {
        this.error(`tree block ${blockptr} has level ${next.level}, its parent ${node.bytenr} expects ${node.level - 1}`);
        return false;
      }
      if (next.level === level) await this.emit(next, this.full);
      else if (!(await this.printLevel(next, level, seen))) return false;
    }
    return true;
  }

  /** print_extents: the leaves under `blk`, left to right, without the checksum options. */
  async printExtents(blk: ReadBlock, seen = new Set<bigint>()): Promise<boolean> {
    if (blk.level === 0) {
      await this.emit(blk, this.plain);
      return true;
    }
    const kids = this.children(blk);
    for (let i = 0; i < kids.length; i++) {
      const { blockptr, generation } = kids[i]!;
      if (seen.has(blockptr)) continue;
      seen.add(blockptr);
      const next = await this.reader.read(blockptr, generation);
      if (!next) continue;
      if (next.level !== blk.level - 1) {
        this.warning(`eb corrupted: item ${i} eb level ${next.level} next level ${blk.level}, skipping the rest`);
        return false;
      }
      await this.printExtents(next, seen);
    }
    return true;
  }

  /** Every ROOT_ITEM of a tree of tree roots, in key order, with its key and tree root bytenr. */
  async *rootItems(root: ReadBlock): AsyncGenerator<{ key: Key; bytenr: bigint }> {
    const seen = new Set<bigint>([root.bytenr]);
    // A path from the root: each frame is a block and the next child (or item) to visit in it.
    const path: Array<{ blk: ReadBlock; next: number; kids: Array<{ blockptr: bigint; generation: bigint }> }> = [
      { blk: root, next: 0, kids: root.level > 0 ? this.children(root) : [] },
    ];
    while (path.length) {
      const top = path[path.length - 1]!;
      if (top.blk.level === 0) {
        yield* this.leafRootItems(top.blk);
        path.pop();
        continue;
      }
      if (top.next >= top.kids.length) {
        path.pop();
        continue;
      }
      const { blockptr, generation } = top.kids[top.next++]!;
      if (seen.has(blockptr)) continue;
      seen.add(blockptr);
      const next = await this.reader.read(blockptr, generation);
      // progs' search stops at the first block it cannot step into.
      if (!next || next.level !== top.blk.level - 1) return;
      path.push({ blk: next, next: 0, kids: next.level > 0 ? this.children(next) : [] });
    }
  }

  private *leafRootItems(blk: ReadBlock): Generator<{ key: Key; bytenr: bigint }> {
    const h = headerStruct.decode(blk.buf, 0);
    const dataSize = blk.buf.length - HEADER_SIZE;
    const fit = Math.min(h.nritems, Math.floor(dataSize / itemStruct.size));
    for (let i = 0; i < fit; i++) {
      const it = itemStruct.decode(blk.buf, HEADER_SIZE + i * itemStruct.size);
      if (it.key.type !== KeyType.ROOT_ITEM) continue;
      if (it.offset + it.size > dataSize || it.size < ROOT_ITEM_BYTENR + 8) {
        this.error(`ROOT_ITEM in leaf ${h.bytenr} slot ${i} is too small or out of bounds, skipped`);
        continue;
      }
      yield { key: it.key, bytenr: blk.buf.readBigUInt64LE(HEADER_SIZE + it.offset + ROOT_ITEM_BYTENR) };
    }
  }

  async section(sec: Section): Promise<void> {
    await this.sink.section(sec);
  }
}

function treeSection(label: string, key: Key | null, style: 'full' | 'roots' | 'extents', root: ReadBlock): Section {
  return { kind: 'tree', label, key: key ? keyModel(key) : null, style, root: { bytenr: root.bytenr.toString(), level: root.level }, blocks: [], messages: [] };
}

function backupRoots(fs: Filesystem): BackupRoot[] {
  return fs.superblock.super_roots.map((b, slot) => ({
    slot,
    tree_root: b.tree_root.toString(), tree_root_gen: b.tree_root_gen.toString(),
    extent_root: b.extent_root.toString(), extent_root_gen: b.extent_root_gen.toString(),
    chunk_root: b.chunk_root.toString(), chunk_root_gen: b.chunk_root_gen.toString(),
    dev_root: b.dev_root.toString(), dev_root_gen: b.dev_root_gen.toString(),
    csum_root: b.csum_root.toString(), csum_root_gen: b.csum_root_gen.toString(),
    fs_root: b.fs_root.toString(), fs_root_gen: b.fs_root_gen.toString(),
    total_bytes: b.total_bytes.toString(), bytes_used: b.bytes_used.toString(), num_devices: b.num_devices.toString(),
  }));
}

/** Run dump-tree over an opened filesystem, feeding `sink` in output order. */
export async function dumpTree(fs: Filesystem, opts: DumpTreeOptions, sink: DumpTreeSink): Promise<void> {
  const w = new Walker(fs, opts, sink);
  const sb = fs.superblock;
  const { extents = false, device = false, uuid = false, roots = false } = opts;
  const treeId = opts.tree;

  if (opts.blocks?.length) {
    await w.section({ kind: 'blocks', blocks: [], messages: [] });
    const unique = [...new Set(opts.blocks)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (const b of new Set(opts.blocks.filter((x, i) => opts.blocks!.indexOf(x) !== i))) {
      sink.message({ level: 'warning', text: `tree block bytenr ${b} is duplicated` });
    }
    for (const bytenr of unique) {
      if (bytenr % BigInt(sb.sectorsize) !== 0n) {
        sink.message({ level: 'error', text: `tree block bytenr ${bytenr} is not aligned to sectorsize ${sb.sectorsize}` });
        continue;
      }
      const blk = await w.reader.read(bytenr);
      if (!blk) {
        sink.message({ level: 'error', text: `failed to read tree block ${bytenr}` });
        continue;
      }
      await w.printTree(blk, !!opts.follow);
    }
    return;
  }

  const rootTree = await w.reader.read(sb.root, sb.generation);
  const chunkTree = await w.reader.read(sb.chunk_root, sb.chunk_root_generation);
  if (!rootTree || !chunkTree) {
    sink.message({ level: 'error', text: `unable to open the ${rootTree ? 'chunk' : 'root'} tree` });
    return;
  }
  const logTree = sb.log_root !== 0n ? await w.reader.read(sb.log_root) : undefined;

  if (!(extents || uuid || treeId !== undefined)) {
    const tops: Array<[string, ReadBlock | undefined]> = [['root', rootTree], ['chunk', chunkTree], ['log root', logTree]];
    for (const [label, blk] of tops) {
      if (!blk) continue;
      await w.section(treeSection(label, null, roots ? 'roots' : 'full', blk));
      if (!roots) await w.printTree(blk, true);
    }
  }

  const special = new Map<bigint, [string, ReadBlock | undefined]>([
    [ObjectId.ROOT_TREE, ['root', rootTree]],
    [ObjectId.CHUNK_TREE, ['chunk', chunkTree]],
    [ObjectId.TREE_LOG, ['log root', logTree]],
  ]);
  if (treeId !== undefined && special.has(treeId)) {
    const [label, blk] = special.get(treeId)!;
    if (!blk) {
      sink.message({ level: 'error', text: `cannot print ${label} tree, invalid pointer` });
      return;
    }
    await w.section(treeSection(label, null, 'full', blk));
    await w.printTree(blk, true);
    return;
  }

  for (const scan of [rootTree, logTree]) {
    if (!scan) continue;
    for await (const { key, bytenr } of w.rootItems(scan)) {
      const buf = await w.reader.read(bytenr);
      if (!buf) continue;
      if (treeId !== undefined && key.objectid !== treeId) continue;
      let skip = extents || device || uuid;
      if (key.objectid === ObjectId.EXTENT_TREE && !device && !uuid) skip = false;
      if (key.objectid === ObjectId.DEV_TREE && !uuid) skip = false;
      if (key.objectid === ObjectId.UUID_TREE && !extents && !device) skip = false;
      // progs prints a ROOT_TREE_DIR root whatever the mode.
      if (key.objectid === ObjectId.ROOT_TREE_DIR) skip = false;
      if (skip) continue;
      const label = TREE_LABELS.get(key.objectid) ?? 'file';
      if (extents) {
        await w.section(treeSection(label, key, 'extents', buf));
        await w.printExtents(buf);
      } else {
        await w.section(treeSection(label, key, roots ? 'roots' : 'full', buf));
        if (!roots) await w.printTree(buf, true);
      }
    }
  }

  if (extents || device || uuid) return;
  if (opts.backups) await w.section({ kind: 'backup_roots', backups: backupRoots(fs) });
  await w.section({ kind: 'summary', total_bytes: sb.total_bytes.toString(), bytes_used: sb.bytes_used.toString(), fsid: formatUuid(sb.fsid) });
}
