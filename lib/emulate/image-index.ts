// What the emulated kernels learn from the image and may share, because the image never changes:
// directory lookups and unchanged files' extent maps. Bounded; the oldest are forgotten first.

import type { Btrfs } from '../fs/btrfs.js';
import type { FsNode } from '../fs/path.js';
import { kindOfMode, type FileKind } from '../fs/stats.js';
import type { Tree } from '../tree/tree.js';
import { FileMap, type ExtentReferences } from './file-map.js';

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
  private readonly kinds = new Map<string, FileKind>();
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
    const k = `${subvol}:${ino}`;
    let kind = this.kinds.get(k);
    if (kind === undefined) {
      kind = kindOfMode((await this.btrfs.facts({ subvol, ino })).mode);
      if (this.kinds.size >= DENTRIES_MAX) this.kinds.clear();
      this.kinds.set(k, kind);
    }
    return kind;
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
