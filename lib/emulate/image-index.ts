// What the emulated kernels learn from the image and may share, because the image never changes:
// directory lookups and unchanged files' extent maps. Bounded; the oldest are forgotten first.

import type { Btrfs } from '../fs/btrfs.js';
import { InodeFlag } from '../ondisk/constants.js';
import type { FsNode } from '../fs/path.js';
import { kindOfMode, type FileKind } from '../fs/stats.js';
import type { Tree } from '../tree/tree.js';
import { FileMap, type ExtentReferences } from './file-map.js';

export interface ImageInode {
  kind: FileKind;
  size: bigint;
  nlink: number;
  nodatasum: boolean;
}

const DENTRIES_MAX = 65_536;
/** Unchanged files' extent maps kept in memory, in segments (about 200 bytes each). */
const MAPS_MAX_SEGMENTS = 1 << 18;
/** A file with more items than this is read from its tree every time instead. */
const MAP_MAX_ITEMS = 1 << 14;

/** The image's own item ranges are never cut, so a shared map needs no reference bookkeeping. */
const READ_ONLY: ExtentReferences = { partial: new Set(), treeShared: () => false };

export class ImageIndex {
  private readonly dentries = new Map<string, FsNode | null>();
  private readonly maps = new Map<string, FileMap | null>();
  private readonly inodes = new Map<string, ImageInode>();
  private segments = 0;

  constructor(readonly btrfs: Btrfs) {}

  /** The image's entry `name` in directory `dirIno` of subvolume `subvol` (subvolumes crossed as the kernel does). */
  async child(subvol: bigint, dirIno: bigint, name: Buffer): Promise<FsNode | undefined> {
    const k = `${subvol}:${dirIno}:${name.toString('latin1')}`;
    let found = this.dentries.get(k);
    if (found === undefined) {
      found = (await this.btrfs.child({ subvol, ino: dirIno }, name)) ?? null;
      if (this.dentries.size >= DENTRIES_MAX) this.dentries.clear();
      this.dentries.set(k, found);
    }
    return found ?? undefined;
  }

  /** What the image's inode `ino` of subvolume `subvol` is (file, dir, symlink, ...). */
  async kind(subvol: bigint, ino: bigint): Promise<FileKind> {
    return (await this.inode(subvol, ino)).kind;
  }

  /**
   * What the emulator needs of the image's inode: asked for its kind while a path is resolved and
   * for the rest right after, so one read of the inode item serves both.
   */
  async inode(subvol: bigint, ino: bigint): Promise<ImageInode> {
    const k = `${subvol}:${ino}`;
    let found = this.inodes.get(k);
    if (found === undefined) {
      const f = await this.btrfs.facts({ subvol, ino });
      found = { kind: kindOfMode(f.mode), size: f.size, nlink: f.nlink, nodatasum: (f.flags & InodeFlag.NODATASUM) !== 0n };
      if (this.inodes.size >= DENTRIES_MAX) this.inodes.clear();
      this.inodes.set(k, found);
    }
    return found;
  }

  /** The map if it is in memory now (undefined when not loaded, or too large to keep). */
  loadedMap(tree: Tree, ino: bigint): FileMap | undefined {
    return this.maps.get(`${tree.root.id}:${ino}`) ?? undefined;
  }

  /** The unchanged file's items in memory, or null when it has too many to keep. Clone before changing. */
  async map(tree: Tree, ino: bigint): Promise<FileMap | null> {
    const k = `${tree.root.id}:${ino}`;
    let map = this.maps.get(k);
    if (map !== undefined) return map;
    map = await FileMap.fromImage(tree, ino, this.btrfs.filesystem.sectorsize, READ_ONLY, MAP_MAX_ITEMS);
    this.maps.set(k, map);
    this.segments += map?.count ?? 1;
    while (this.segments > MAPS_MAX_SEGMENTS) {
      const [oldest, m] = this.maps.entries().next().value as [string, FileMap | null];
      this.maps.delete(oldest);
      this.segments -= m?.count ?? 1;
    }
    return map;
  }
}
