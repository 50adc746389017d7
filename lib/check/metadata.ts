// Every tree block of every tree, each copy judged on its own: checksum, header (bytenr, fsid, level,
// generation, first key against the parent pointer) and the tree-checker with the superblock's
// generation and features. A good copy (or a rebuild from parity) carries the walk on; a block reached
// twice from one tree, or with keys outside what its parent promised, is a structural problem.

import { BtrfsError, CorruptError } from '../errors.js';
import type { Filesystem } from '../fs/filesystem.js';
import { KeyType, ObjectId, CompatRoFeature } from '../ondisk/constants.js';
import { isFsTree, type CheckContext } from '../ondisk/check.js';
import { compareKeys, formatKey, type Key } from '../ondisk/key.js';
import { decodeRootItem } from '../ondisk/items/root-item.js';
import { itemData, type TreeBlock } from '../ondisk/node.js';
import { metadataFsid } from '../ondisk/superblock.js';
import { verifyTreeBlock } from '../tree/verify-block.js';
import { copiesOf, parityStripes } from '../volume/raid.js';
import { problemFrom, type ProblemLog } from './problem.js';

export interface TreeStart {
  id: bigint;
  bytenr: bigint;
  level: number;
  generation: bigint;
}

interface Expect {
  tree: bigint;
  level: number;
  generation: bigint;
  firstKey?: Key;
  /** Keys of this block must be below this (the parent's next pointer key). */
  upper?: Key;
}

export interface MetadataResult {
  /** Leaves of the extent and csum trees that have a good copy, in key order, for the data passes. */
  leaves: Map<bigint, bigint[]>;
  /** Tree blocks seen, for the parity pass (RAID5/6 rows holding metadata). */
  blocks: Set<bigint>;
}

/** Safety net over the visited set: no image has more distinct tree blocks than its chunks hold. */
const MAX_BLOCKS = 50_000_000;

export class MetadataChecker {
  private readonly ctx: CheckContext;
  private readonly fsid: Buffer;
  readonly result: MetadataResult = { leaves: new Map([[ObjectId.EXTENT_TREE, []], [ObjectId.CSUM_TREE, []]]), blocks: new Set() };
  /** Which tree first reached each block: a second visit from the same tree is a loop. */
  private readonly owner = new Map<bigint, bigint>();

  constructor(private readonly fs: Filesystem, private readonly log: ProblemLog) {
    const sb = fs.superblock;
    this.fsid = metadataFsid(sb);
    this.ctx = { nodesize: sb.nodesize, sectorsize: sb.sectorsize, csumSize: fs.checksummer.size, superGeneration: sb.generation, incompat: sb.incompat_flags };
  }

  /** The trees named by the superblock: chunk, root, log root and block group trees. */
  superblockTrees(): TreeStart[] {
    const sb = this.fs.superblock;
    const out: TreeStart[] = [
      { id: ObjectId.CHUNK_TREE, bytenr: sb.chunk_root, level: sb.chunk_root_level, generation: sb.chunk_root_generation },
      { id: ObjectId.ROOT_TREE, bytenr: sb.root, level: sb.root_level, generation: sb.generation },
    ];
    if (sb.compat_ro_flags & CompatRoFeature.BLOCK_GROUP_TREE && sb.block_group_root !== 0n) {
      out.push({ id: ObjectId.BLOCK_GROUP_TREE, bytenr: sb.block_group_root, level: sb.block_group_root_level, generation: sb.block_group_root_generation });
    }
    // The log root is written in the transaction after the superblock's (the kernel checks gen + 1).
    if (sb.log_root !== 0n) out.push({ id: ObjectId.TREE_LOG, bytenr: sb.log_root, level: sb.log_root_level, generation: sb.generation + 1n });
    return out;
  }

  async run(): Promise<MetadataResult> {
    const queue = this.superblockTrees();
    const started = new Set<bigint>();
    while (queue.length) {
      const t = queue.shift()!;
      if (started.has(t.bytenr)) continue;
      started.add(t.bytenr);
      const roots = await this.walkTree(t);
      queue.push(...roots);
    }
    return this.result;
  }

  /** Walk one tree depth first; returns the trees its ROOT_ITEMs start (root tree and log root tree). */
  private async walkTree(t: TreeStart): Promise<TreeStart[]> {
    const found: TreeStart[] = [];
    const stack: Array<{ bytenr: bigint; expect: Expect }> = [{ bytenr: t.bytenr, expect: { tree: t.id, level: t.level, generation: t.generation } }];
    while (stack.length) {
      const { bytenr, expect } = stack.pop()!;
      const seenBy = this.owner.get(bytenr);
      if (seenBy !== undefined) {
        // Snapshots share blocks between trees; within one tree a block has exactly one parent.
        if (seenBy === t.id) this.log.add({ kind: 'tree', message: 'tree block reached twice in one tree (a loop or a shared child)', code: 'EBTRFSCORRUPT', logical: bytenr, tree: t.id });
        continue;
      }
      if (this.owner.size >= MAX_BLOCKS) {
        this.log.add({ kind: 'tree', message: `more than ${MAX_BLOCKS} tree blocks: walk stopped`, code: 'EBTRFSCORRUPT', tree: t.id });
        return found;
      }
      this.owner.set(bytenr, t.id);
      const block = await this.readBlock(bytenr, expect);
      if (!block) continue;
      this.result.blocks.add(bytenr);
      this.checkRange(block, expect);
      if (block.level > 0) {
        for (let i = block.ptrs.length - 1; i >= 0; i--) {
          const p = block.ptrs[i]!;
          const next = block.ptrs[i + 1]?.key ?? expect.upper;
          stack.push({ bytenr: p.blockptr, expect: { tree: t.id, level: block.level - 1, generation: p.generation, firstKey: p.key, ...(next ? { upper: next } : {}) } });
        }
        continue;
      }
      const leaves = this.result.leaves.get(t.id);
      if (leaves) leaves.push(bytenr);
      if (t.id === ObjectId.ROOT_TREE || t.id === ObjectId.TREE_LOG) found.push(...this.rootsIn(block, t.id));
    }
    return found;
  }

  /** ROOT_ITEMs of a root-tree or log-root-tree leaf, as trees to walk (dropped subvolumes skipped). */
  private rootsIn(block: TreeBlock, tree: bigint): TreeStart[] {
    const out: TreeStart[] = [];
    for (let slot = 0; slot < block.items.length; slot++) {
      const k = block.items[slot]!.key;
      if (k.type !== KeyType.ROOT_ITEM) continue;
      try {
        const r = decodeRootItem(itemData(block, slot));
        // A subvolume being deleted (refs 0) is freed as the cleaner goes: its blocks may be reused.
        if (isFsTree(k.objectid) && r.refs === 0) continue;
        const id = tree === ObjectId.TREE_LOG ? ObjectId.TREE_LOG : k.objectid === ObjectId.TREE_RELOC ? ObjectId.TREE_RELOC : k.objectid;
        out.push({ id, bytenr: r.bytenr, level: r.level, generation: r.generation });
      } catch (e) {
        if (!(e instanceof BtrfsError)) throw e;
        this.log.add(problemFrom('tree', e, { logical: block.header.bytenr, tree }));
      }
    }
    return out;
  }

  /** Keys must stay below the parent's next pointer: otherwise searches would miss them. */
  private checkRange(block: TreeBlock, expect: Expect): void {
    if (!expect.upper) return;
    const last = block.level === 0 ? block.items[block.items.length - 1]?.key : block.ptrs[block.ptrs.length - 1]?.key;
    if (last && compareKeys(last, expect.upper) >= 0) {
      this.log.add({
        kind: 'tree', code: 'EBTRFSCORRUPT', logical: block.header.bytenr, tree: expect.tree,
        message: `last key ${formatKey(last)} is not below the parent's next key ${formatKey(expect.upper)}`,
      });
    }
  }

  /** Judge every copy; return a good one (or a rebuild), or undefined when there is none. */
  private async readBlock(bytenr: bigint, expect: Expect): Promise<TreeBlock | undefined> {
    const { volume } = this.fs;
    const nodesize = this.ctx.nodesize;
    let chunk;
    try {
      chunk = volume.chunkAt(bytenr);
      if (bytenr % BigInt(this.ctx.sectorsize) !== 0n) throw new CorruptError('tree block is not aligned to sectorsize', { logical: bytenr });
      if (bytenr + BigInt(nodesize) > chunk.logical + chunk.length) throw new CorruptError('tree block runs past the end of its chunk', { logical: bytenr });
    } catch (e) {
      if (!(e instanceof BtrfsError)) throw e;
      this.log.add(problemFrom('tree', e, { logical: bytenr, tree: expect.tree }));
      return undefined;
    }
    this.log.stats.treeBlocks++;
    this.log.progressed();
    const raid56 = parityStripes(chunk.profile) > 0;
    const copies = raid56 ? 1 : copiesOf(chunk.profile, chunk);
    const places = volume.places(bytenr);
    let good: TreeBlock | undefined;
    const bad: number[] = [];
    for (let m = 0; m < copies; m++) {
      const place = places[m]!;
      if (volume.isMissing(place.devid)) {
        this.log.stats.skippedCopies++;
        continue;
      }
      this.log.stats.treeBlockCopies++;
      try {
        const block = this.verify(await volume.readCopy(bytenr, nodesize, m), bytenr, expect);
        good ??= block;
      } catch (e) {
        if (!(e instanceof BtrfsError)) throw e;
        bad.push(this.log.problems.length);
        this.log.add(problemFrom('tree-block', e, { device: place.device, devid: place.devid, physical: place.physical, logical: bytenr, mirror: m, tree: expect.tree }));
      }
    }
    if (!good && raid56) {
      // The data stripe is bad or missing: rebuild it from parity, as a reader would.
      const mirrors = volume.mirrorCount(bytenr);
      for (let m = 1; m < mirrors && !good; m++) {
        try {
          good = this.verify(await volume.read(bytenr, nodesize, m), bytenr, expect);
        } catch (e) {
          if (!(e instanceof BtrfsError)) throw e;
        }
      }
    }
    for (const i of bad) {
      const p = this.log.problems[i];
      if (p) p.repairable = good !== undefined;
    }
    if (!good) {
      this.log.add({ kind: 'tree', message: 'no good copy of this tree block: the subtree below it is not checked', code: 'EBTRFSCORRUPT', logical: bytenr, tree: expect.tree });
    }
    return good;
  }

  private verify(buf: Buffer, bytenr: bigint, expect: Expect): TreeBlock {
    return verifyTreeBlock(buf, bytenr, expect, { ...this.ctx, checksummer: this.fs.checksummer, fsid: this.fsid }, { logical: bytenr, tree: expect.tree });
  }

}

