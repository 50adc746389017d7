// Which files own a damaged data range: the extent item holding it, its back references (inline and
// keyed EXTENT_DATA_REF naming root, inode and file position; SHARED_DATA_REF naming the leaf that
// holds the file extent item), the file extent items that really point into the damaged bytes, and
// the inode's path. When the extent tree cannot say, one bounded scan of the subvolume trees' file
// extent items answers for every range still unresolved.

import { BtrfsError } from '../errors.js';
import type { Filesystem } from '../fs/filesystem.js';
import { parentOf } from '../fs/inode.js';
import { directoryPath, listSubvolumes } from '../fs/subvolumes.js';
import { KeyType, ObjectId } from '../ondisk/constants.js';
import { isFsTree, MAX_COMPRESSED } from '../ondisk/check.js';
import { decodeExtentItem, extentDataRef } from '../ondisk/items/extent-item.js';
import { decodeFileExtent } from '../ondisk/items/file-extent.js';
import { decodeRootItem } from '../ondisk/items/root-item.js';
import { key, U64_MAX } from '../ondisk/key.js';
import { itemData } from '../ondisk/node.js';
import type { Tree } from '../tree/tree.js';
import type { CheckProblem, OwningFile } from './problem.js';

/** File extent items looked at per back reference, and in the fallback scan, at most. */
const MAX_ITEMS_PER_REF = 100_000;
const MAX_SCAN_ITEMS = 5_000_000;
const MAX_FILES_PER_PROBLEM = 64;

interface Range {
  logical: bigint;
  end: bigint;
}

interface DataRef {
  root: bigint;
  ino: bigint;
  /** File position of the extent's first byte (key offset - extent offset). */
  offset: bigint;
}

export class OwnerResolver {
  private subvolPaths: Map<bigint, string> | undefined;
  private readonly paths = new Map<string, string | undefined>();

  constructor(private readonly fs: Filesystem) {}

  async resolve(problems: CheckProblem[]): Promise<void> {
    const unresolved: CheckProblem[] = [];
    for (const p of problems) {
      if (p.logical === undefined) continue;
      const range = { logical: p.logical, end: p.logical + (p.length ?? BigInt(this.fs.sectorsize)) };
      let files: OwningFile[] | undefined;
      try {
        files = await this.fromExtentTree(range);
      } catch (e) {
        if (!(e instanceof BtrfsError)) throw e;
      }
      if (files && files.length) p.files = await this.named(files);
      else unresolved.push(p);
    }
    if (unresolved.length) await this.scan(unresolved);
  }

  /** Files referencing `range` according to the extent tree; undefined when no extent item holds it. */
  private async fromExtentTree(range: Range): Promise<OwningFile[] | undefined> {
    const extentTree = await this.fs.tree(ObjectId.EXTENT_TREE);
    let target = key(range.logical, KeyType.EXTENT_ITEM, U64_MAX);
    for (let step = 0; step < 8; step++) {
      const it = await extentTree.floor(target);
      if (!it) return undefined;
      if (it.key.type !== KeyType.EXTENT_ITEM) {
        if (it.key.objectid === 0n) return undefined;
        target = it.key.type > KeyType.EXTENT_ITEM ? key(it.key.objectid, KeyType.EXTENT_ITEM, U64_MAX) : key(it.key.objectid - 1n, 255, U64_MAX);
        continue;
      }
      const bytenr = it.key.objectid;
      if (range.logical >= bytenr + it.key.offset) return undefined;
      const item = decodeExtentItem(it.data, KeyType.EXTENT_ITEM);
      const refs: DataRef[] = [];
      const parents: bigint[] = [];
      for (const r of item.inlineRefs) {
        if (r.type === 'extent_data') refs.push({ root: r.root, ino: r.objectid, offset: r.offset });
        else if (r.type === 'shared_data') parents.push(r.parent);
      }
      for await (const k of extentTree.range(key(bytenr, KeyType.EXTENT_DATA_REF, 0n), key(bytenr, KeyType.SHARED_DATA_REF, U64_MAX))) {
        if (k.key.type === KeyType.EXTENT_DATA_REF && k.data.length >= extentDataRef.size) {
          const r = extentDataRef.decode(k.data, 0);
          refs.push({ root: r.root, ino: r.objectid, offset: r.offset });
        } else if (k.key.type === KeyType.SHARED_DATA_REF) parents.push(k.key.offset);
        if (refs.length + parents.length > MAX_ITEMS_PER_REF) break;
      }
      const out: OwningFile[] = [];
      for (const r of refs) {
        if (out.length >= MAX_FILES_PER_PROBLEM) break;
        out.push(...(await this.fromDataRef(r, bytenr, it.key.offset, range)));
      }
      for (const parent of parents) {
        if (out.length >= MAX_FILES_PER_PROBLEM) break;
        out.push(...(await this.fromLeaf(parent, bytenr, range)));
      }
      return out;
    }
    return undefined;
  }

  private async fromDataRef(r: DataRef, bytenr: bigint, length: bigint, range: Range): Promise<OwningFile[]> {
    let tree: Tree;
    try {
      tree = await this.fs.tree(r.root);
    } catch (e) {
      if (e instanceof BtrfsError) return [];
      throw e;
    }
    const span = length > MAX_COMPRESSED ? length : MAX_COMPRESSED;
    const out: OwningFile[] = [];
    let seen = 0;
    // The reference's offset is key offset minus extent offset as a u64: it wraps below zero when a
    // reflink put the extent's middle at the start of a file.
    const end = r.offset + span - 1n;
    const [from, to] = end > U64_MAX ? [0n, end - U64_MAX - 1n] : [r.offset, end];
    for await (const it of tree.range(key(r.ino, KeyType.EXTENT_DATA, from), key(r.ino, KeyType.EXTENT_DATA, to))) {
      if (++seen > MAX_ITEMS_PER_REF) break;
      const hit = this.hit(it.data, it.key.offset, bytenr, range);
      if (hit !== undefined) out.push({ subvol: r.root, ino: r.ino, fileOffset: hit });
    }
    return out;
  }

  private async fromLeaf(parent: bigint, bytenr: bigint, range: Range): Promise<OwningFile[]> {
    let block;
    try {
      block = await this.fs.blocks.read(parent, { level: 0 });
    } catch (e) {
      if (e instanceof BtrfsError) return [];
      throw e;
    }
    const out: OwningFile[] = [];
    for (let slot = 0; slot < block.items.length; slot++) {
      const k = block.items[slot]!.key;
      if (k.type !== KeyType.EXTENT_DATA) continue;
      const hit = this.hit(itemData(block, slot), k.offset, bytenr, range);
      if (hit !== undefined) out.push({ subvol: block.header.owner, ino: k.objectid, fileOffset: hit });
    }
    return out;
  }

  /** File offset of the first damaged byte this file extent item holds, if it points into `range`. */
  private hit(data: Buffer, fileStart: bigint, bytenr: bigint | undefined, range: Range): bigint | undefined {
    let e;
    try {
      e = decodeFileExtent(data);
    } catch (err) {
      if (err instanceof BtrfsError) return undefined;
      throw err;
    }
    if (e.kind === 'inline' || e.diskBytenr === 0n) return undefined;
    if (bytenr !== undefined && e.diskBytenr !== bytenr) return undefined;
    if (e.compression !== 0) {
      // Any damaged byte of a compressed extent spoils every byte decompressed from it.
      return e.diskBytenr < range.end && range.logical < e.diskBytenr + e.diskNumBytes ? fileStart : undefined;
    }
    const from = e.diskBytenr + e.offset;
    const to = from + e.numBytes;
    if (to <= range.logical || from >= range.end) return undefined;
    return fileStart + (range.logical > from ? range.logical - from : 0n);
  }

  /** Last resort: every subvolume tree's file extent items, once, against all unresolved ranges. */
  private async scan(problems: CheckProblem[]): Promise<void> {
    const ranges = problems.map((p) => ({ logical: p.logical!, end: p.logical! + (p.length ?? BigInt(this.fs.sectorsize)) }));
    const found: OwningFile[][] = problems.map(() => []);
    let seen = 0;
    try {
      const roots: bigint[] = [];
      for await (const it of this.fs.rootTree.range(key(ObjectId.FS_TREE, KeyType.ROOT_ITEM, 0n), key(ObjectId.LAST_FREE, KeyType.ROOT_ITEM, U64_MAX))) {
        if (it.key.type === KeyType.ROOT_ITEM && isFsTree(it.key.objectid) && decodeRootItem(it.data).refs > 0) roots.push(it.key.objectid);
      }
      for (const root of roots) {
        let tree: Tree;
        try {
          tree = await this.fs.tree(root);
          for await (const it of tree.range(key(0n, 0, 0n), key(U64_MAX, 255, U64_MAX))) {
            if (++seen > MAX_SCAN_ITEMS) return;
            if (it.key.type !== KeyType.EXTENT_DATA) continue;
            ranges.forEach((r, i) => {
              const hit = this.hit(it.data, it.key.offset, undefined, r);
              if (hit !== undefined && found[i]!.length < MAX_FILES_PER_PROBLEM) found[i]!.push({ subvol: root, ino: it.key.objectid, fileOffset: hit });
            });
          }
        } catch (e) {
          if (!(e instanceof BtrfsError)) throw e;
        }
      }
    } catch (e) {
      if (!(e instanceof BtrfsError)) throw e;
    } finally {
      for (let i = 0; i < problems.length; i++) if (found[i]!.length) problems[i]!.files = await this.named(found[i]!);
    }
  }

  private async named(files: OwningFile[]): Promise<OwningFile[]> {
    for (const f of files) {
      const path = await this.pathOf(f.subvol, f.ino);
      if (path !== undefined) f.path = path;
    }
    return files;
  }

  /** "/subvol/dir/name" from the top level, or undefined when a name on the way cannot be read. */
  private async pathOf(subvol: bigint, ino: bigint): Promise<string | undefined> {
    const id = `${subvol}:${ino}`;
    if (this.paths.has(id)) return this.paths.get(id);
    let path: string | undefined;
    try {
      if (!this.subvolPaths) {
        this.subvolPaths = new Map([[ObjectId.FS_TREE, '']]);
        for (const s of await listSubvolumes(this.fs)) this.subvolPaths.set(s.id, s.path);
      }
      const base = this.subvolPaths.get(subvol);
      const tree = await this.fs.tree(subvol);
      const ref = await parentOf(tree, ino);
      if (base !== undefined && ref) {
        const dir = await directoryPath(this.fs, subvol, ref.parent);
        path = '/' + [base, dir, ref.name.toString('utf8')].filter((p) => p !== '').join('/');
      }
    } catch (e) {
      if (!(e instanceof BtrfsError)) throw e;
    }
    this.paths.set(id, path);
    return path;
  }
}
