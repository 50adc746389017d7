// Which files own a damaged data range: for each extent the range touches, the file ranges its back
// references lead to (lib/backref's logical-resolve, the same answer `logical-resolve` gives), kept
// when their window into the extent holds damaged bytes, and each inode's path. When the extent tree
// cannot say, one bounded scan of the subvolume trees' file extent items answers for every range
// still unresolved.

import { BackrefContext } from '../backref/context.js';
import { logicalResolve } from '../backref/logical-resolve.js';
import { BtrfsError } from '../errors.js';
import type { Filesystem } from '../fs/filesystem.js';
import { parentOf } from '../fs/inode.js';
import { directoryPath, listSubvolumes } from '../fs/subvolumes.js';
import { KeyType, ObjectId } from '../ondisk/constants.js';
import { isFsTree } from '../ondisk/check.js';
import { decodeFileExtent } from '../ondisk/items/file-extent.js';
import { decodeRootItem } from '../ondisk/items/root-item.js';
import { key, U64_MAX } from '../ondisk/key.js';
import type { Tree } from '../tree/tree.js';
import type { CheckProblem, OwningFile } from './problem.js';

/** Extents asked about per damaged range, and file extent items in the fallback scan, at most. */
const MAX_STEPS = 4096;
const MAX_SCAN_ITEMS = 5_000_000;
const MAX_FILES_PER_PROBLEM = 64;

interface Range {
  logical: bigint;
  end: bigint;
}

export class OwnerResolver {
  private subvolPaths: Map<bigint, string> | undefined;
  private backrefs: BackrefContext | undefined;
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

  /**
   * Files referencing `range` according to the extent tree (lib/backref's logical-resolve: inline and
   * keyed references, shared leaves seen from every subvolume that reaches them); undefined when no
   * extent item holds any of it. Every extent the range touches is asked, and every file range
   * referencing it is kept when its window into the extent overlaps the damage.
   */
  private async fromExtentTree(range: Range): Promise<OwningFile[] | undefined> {
    this.backrefs ??= await BackrefContext.create(this.fs);
    const S = BigInt(this.fs.sectorsize);
    const out: OwningFile[] = [];
    let found = false;
    for (let pos = range.logical, steps = 0; pos < range.end && steps < MAX_STEPS; steps++) {
      const r = await logicalResolve(this.backrefs, pos);
      if (r.kind !== 'data') {
        const next = r.kind === 'tree-block' ? r.extent.bytenr + r.extent.length : pos + S;
        pos = next > pos ? next : pos + S;
        continue;
      }
      found = true;
      const start = r.extent.bytenr;
      for (const f of r.references) {
        if (out.length >= MAX_FILES_PER_PROBLEM) break;
        const compressed = f.compression !== 'none';
        // Compressed: any damaged byte spoils all the item decompresses. Plain: the item's window.
        const from = compressed ? start : start + f.extentOffset;
        const to = compressed ? start + r.extent.length : from + f.itemLength;
        if (to <= range.logical || from >= range.end) continue;
        const first = range.logical > from ? range.logical : from;
        out.push({ subvol: f.subvol, ino: f.ino, fileOffset: compressed ? f.itemOffset : f.itemOffset + (first - from) });
      }
      pos = start + r.extent.length > pos ? start + r.extent.length : pos + S;
    }
    return found ? out : undefined;
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
