// What a back reference walk needs from an opened filesystem, with the lookups it repeats memoized:
// extent records, tree roots and the roots that reach a tree block. One context serves many walks
// (a whole `du` or `sharing` run); its memos are bounded so a huge image cannot exhaust memory.

import { BtrfsError, CorruptError } from '../errors.js';
import { ObjectId } from '../ondisk/constants.js';
import type { RootItem } from '../ondisk/items/root-item.js';
import type { TreeBlock } from '../ondisk/node.js';
import type { Filesystem } from '../fs/filesystem.js';
import type { Tree, TreeRoot } from '../tree/tree.js';
import { extentRecordAt, extentRecordContaining, type ExtentRecord } from './extent-record.js';

/** A Map that forgets its oldest entries past a size. */
export class BoundedMemo<K, V> {
  private readonly map = new Map<K, V>();
  constructor(private readonly max: number) {}
  get(k: K): V | undefined {
    return this.map.get(k);
  }
  has(k: K): boolean {
    return this.map.has(k);
  }
  set(k: K, v: V): void {
    this.map.set(k, v);
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value as K);
  }
}

const MEMO_ENTRIES = 1 << 16;
/** Problems kept for the report; more are counted, not kept. */
const MAX_PROBLEMS = 1000;

export class BackrefContext {
  private readonly records = new BoundedMemo<bigint, Promise<ExtentRecord | undefined>>(MEMO_ENTRIES);
  /** Roots reaching a tree block (see roots.ts). */
  readonly blockRoots = new BoundedMemo<bigint, Promise<bigint[]>>(MEMO_ENTRIES);
  /** Inconsistencies met on the way (a reference to a missing tree, a block no extent item covers). */
  readonly problems: BtrfsError[] = [];
  problemCount = 0;

  private constructor(readonly fs: Filesystem, readonly extentTree: Tree) {}

  static async create(fs: Filesystem): Promise<BackrefContext> {
    return new BackrefContext(fs, await fs.tree(ObjectId.EXTENT_TREE));
  }

  get nodesize(): number {
    return this.fs.nodesize;
  }

  record(bytenr: bigint): Promise<ExtentRecord | undefined> {
    let pending = this.records.get(bytenr);
    if (!pending) {
      pending = extentRecordAt(this.extentTree, bytenr, this.fs.nodesize);
      this.records.set(bytenr, pending);
    }
    return pending;
  }

  containing(logical: bigint): Promise<ExtentRecord | undefined> {
    return extentRecordContaining(this.extentTree, logical, this.fs.nodesize);
  }

  /** Where tree `id` starts: the superblock's trees, or a ROOT_ITEM. Undefined for a tree that does not exist. */
  async treeRoot(id: bigint): Promise<TreeRoot | undefined> {
    if (id === ObjectId.ROOT_TREE) return this.fs.rootTree.root;
    if (id === ObjectId.CHUNK_TREE) return this.fs.chunkTree.root;
    return (await this.fs.rootItem(id))?.root;
  }

  async rootItem(id: bigint): Promise<RootItem | undefined> {
    return (await this.fs.rootItem(id))?.item;
  }

  /** A verified tree block; `level` when the caller knows it (every read checks what it is told). */
  block(bytenr: bigint, expect: { level?: number | undefined; tree?: bigint | undefined } = {}): Promise<TreeBlock> {
    return this.fs.blocks.read(bytenr, expect);
  }

  note(problem: BtrfsError | string): void {
    this.problemCount++;
    if (this.problems.length < MAX_PROBLEMS) this.problems.push(typeof problem === 'string' ? new CorruptError(problem) : problem);
  }
}
