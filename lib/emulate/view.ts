// The emulated filesystem view: the image's namespace plus what the workload changed (names unlinked,
// files created by reflink, snapshots taken), and the emulated inodes with their sizes and, once
// changed, their own extent maps. Paths resolve the way lib/fs/path.ts resolves them on the image
// (symlinks followed, subvolumes crossed, the kernel's placeholder for a nested subvolume inside a
// snapshot); a snapshot made here is a new subvolume whose inodes start as copies of the source's.

import type { Btrfs } from '../fs/btrfs.js';
import { PathError, UsageError } from '../errors.js';
import type { EmulatedFile } from './kernel-read-path.js';
import { mappings } from '../fs/file-extents.js';
import { resolve, type FsNode, type PathContext } from '../fs/path.js';
import type { FileKind } from '../fs/stats.js';
import { inodeId } from '../cache/page-key.js';
import { KeyType, NAME_LEN, ObjectId } from '../ondisk/constants.js';
import type { DirEntry } from '../ondisk/items/dir-item.js';
import { key, U64_MAX } from '../ondisk/key.js';
import { RootFlag } from '../ondisk/constants.js';
import type { Tree } from '../tree/tree.js';
import { FileMap, type ExtentReferences } from './file-map.js';
import { ImageIndex } from './image-index.js';

export interface EmuInode {
  /** inodeId(subvol, ino): the per-inode cache's owner. */
  id: string;
  subvol: bigint;
  ino: bigint;
  /** The tree holding its unchanged EXTENT_DATA items. */
  tree: Tree;
  kind: FileKind;
  size: bigint;
  nlink: number;
  nodatasum: boolean;
  /** Own extent map once the workload changed the file (until then the image's items are read). */
  map: FileMap | undefined;
  /** The last path it was reached by (for messages). */
  path: string;
  /** Last name unlinked. */
  dead: boolean;
  file: EmulatedFile;
}

type Entry = { ino: bigint; kind: FileKind } | { subvol: bigint } | { placeholder: true };

class ViewSubvol {
  readonly inodes = new Map<bigint, EmuInode>();
  /** Directory changes: dir ino -> name (latin1 of its bytes) -> new entry, or null when unlinked. */
  readonly edits = new Map<bigint, Map<string, Entry | null>>();

  constructor(
    readonly id: bigint,
    /** Image subvolume whose tree holds everything not changed here. */
    readonly image: bigint,
    readonly tree: Tree,
    readonly rootIno: bigint,
    readonly readonly: boolean,
    /** A snapshot made by the workload (its nested subvolumes are placeholders). */
    readonly emulated: boolean,
    public nextIno: bigint,
    /** Shares tree leaves with another subvolume (it is a snapshot, or was snapshotted). */
    public treeShared: boolean,
    partial: Set<bigint>,
  ) {
    this.refs = { partial, treeShared: () => this.treeShared };
  }

  readonly refs: ExtentReferences;
}

const PATH_CACHE_MAX = 32_768;

export class View {
  readonly partialRefs = new Set<bigint>();
  private readonly subvols = new Map<bigint, ViewSubvol>();
  private readonly pathCache = new Map<string, FsNode>();
  private followedLink = false;
  private readonly entryNodes = new WeakMap<DirEntry, FsNode>();
  private readonly ctx: PathContext;

  private constructor(private readonly btrfs: Btrfs, private readonly images: ImageIndex, private nextSubvol: bigint, private readonly snapshotted: Set<bigint>) {
    this.ctx = {
      root: btrfs.root,
      isDirectory: async (n) => (await this.kindOf(n)) === 'dir',
      isSymlink: async (n) => (await this.kindOf(n)) === 'symlink',
      lookup: (dir, name) => this.lookup(dir, name),
      enter: async (_dir, entry) => this.entryNodes.get(entry)!,
      readlink: async (n) => {
        this.followedLink = true;
        return this.btrfs.readlinkNode({ subvol: (await this.sub(n.subvol)).image, ino: n.ino });
      },
    };
  }

  static async create(btrfs: Btrfs, images = new ImageIndex(btrfs)): Promise<View> {
    let max = ObjectId.FIRST_FREE - 1n;
    const subvols = await btrfs.subvolumes();
    const snapshotted = new Set<bigint>();
    for (const s of subvols) {
      if (s.id > max) max = s.id;
      if (s.parentUuid === null) continue;
      snapshotted.add(s.id);
      for (const t of subvols) if (t.uuid === s.parentUuid) snapshotted.add(t.id);
    }
    return new View(btrfs, images, max + 1n, snapshotted);
  }

  get sectorsize(): number {
    return this.btrfs.filesystem.sectorsize;
  }

  async resolve(path: string, syscall: string, follow = true): Promise<FsNode> {
    return (await this.resolveClean(path, syscall, follow)).node;
  }

  /**
   * Resolve, and say whether the path names its node directly (no symlink, no ".."): only such
   * results are cached, under the canonical path, so a change to one name invalidates one entry.
   */
  private async resolveClean(path: string, syscall: string, follow: boolean): Promise<{ node: FsNode; canonical: string | undefined }> {
    const canon = canonicalPath(path);
    const cacheKey = canon === undefined ? undefined : `${follow ? 'f' : 'n'}${canon}`;
    const hit = cacheKey === undefined ? undefined : this.pathCache.get(cacheKey);
    if (hit) return { node: hit, canonical: canon };
    let node = canon === undefined || canon === '/' ? undefined : await this.fromParent(canon, syscall, follow);
    if (!node) {
      this.followedLink = false;
      node = await resolve(this.ctx, path, follow, syscall);
      if (cacheKey === undefined || this.followedLink) return { node, canonical: undefined };
    }
    if (this.pathCache.size >= PATH_CACHE_MAX) this.pathCache.clear();
    this.pathCache.set(cacheKey!, node);
    return { node, canonical: canon };
  }

  /** One name looked up in the (cached) directory above it; undefined when the full walk must decide. */
  private async fromParent(canon: string, syscall: string, follow: boolean): Promise<FsNode | undefined> {
    const cut = canon.lastIndexOf('/');
    const name = Buffer.from(canon.slice(cut + 1), 'utf8');
    if (name.length > NAME_LEN) return undefined;
    const parent = await this.resolveClean(canon.slice(0, cut) || '/', syscall, true).catch(() => undefined);
    if (!parent || parent.canonical === undefined || (await this.kindOf(parent.node)) !== 'dir') return undefined;
    const entry = await this.lookup(parent.node, name);
    if (!entry) return undefined;
    const node = this.entryNodes.get(entry)!;
    if (follow && (await this.kindOf(node)) === 'symlink') return undefined;
    return node;
  }

  /** The regular file at `path`. */
  async file(path: string, syscall: string): Promise<EmuInode> {
    const node = await this.resolve(path, syscall);
    const kind = await this.kindOf(node);
    if (kind === 'dir') throw new PathError('EISDIR', syscall, path);
    if (kind !== 'file') throw new PathError('EINVAL', syscall, path);
    const inode = await this.inode(node);
    inode.path = path;
    return inode;
  }

  async isReadonly(subvol: bigint): Promise<boolean> {
    return (await this.sub(subvol)).readonly;
  }

  async inode(node: FsNode): Promise<EmuInode> {
    const sub = await this.sub(node.subvol);
    const known = sub.inodes.get(node.ino);
    if (known) return known;
    const f = await this.images.inode(sub.image, node.ino);
    const inode = this.newInode(sub, node.ino, f.kind, f.size, f.nlink, f.nodatasum, undefined);
    sub.inodes.set(node.ino, inode);
    return inode;
  }

  /** Give the inode its own extent map (a copy of the image's items) before changing it. */
  async materialize(inode: EmuInode): Promise<FileMap> {
    if (inode.map) return inode.map;
    const refs = (await this.sub(inode.subvol)).refs;
    const cached = await this.imageMap(inode);
    inode.map = cached ? cached.clone(refs) : await FileMap.fromImage(inode.tree, inode.ino, this.sectorsize, refs);
    return inode.map!;
  }

  /** A new empty regular file at `path` (whose directory must exist), taking `like`'s checksum flag. */
  async create(path: string, like: EmuInode): Promise<EmuInode> {
    const { dir, name, entry } = await this.parent(path, 'open');
    const sub = await this.sub(dir.subvol);
    const ino = sub.nextIno++;
    const inode = this.newInode(sub, ino, 'file', 0n, 1, like.nodatasum, new FileMap(sub.refs));
    inode.path = path;
    sub.inodes.set(ino, inode);
    this.edit(sub, dir.ino, name, { ino, kind: 'file' }, entry);
    return inode;
  }

  /** Remove a name; returns the inode when that was its last name. */
  async unlink(path: string): Promise<EmuInode | undefined> {
    const { dir, name, entry: canonical } = await this.parent(path, 'unlink');
    const entry = await this.lookup(dir, name);
    if (!entry) throw new PathError('ENOENT', 'unlink', path);
    const node = this.entryNodes.get(entry)!;
    if ((await this.kindOf(node)) === 'dir') throw new PathError('EISDIR', 'unlink', path);
    const inode = await this.inode(node);
    const sub = await this.sub(dir.subvol);
    this.edit(sub, dir.ino, name, null, canonical);
    inode.nlink--;
    if (inode.nlink > 0) return undefined;
    // No name reaches it any more: forget it (its inode number is never reused).
    inode.dead = true;
    sub.inodes.delete(inode.ino);
    return inode;
  }

  /** Snapshot the subvolume whose root is at `src` to the new path `dst`; returns the new id. */
  async snapshot(src: string, dst: string, readonly: boolean): Promise<bigint> {
    const node = await this.resolve(src, 'snapshot');
    const from = await this.sub(node.subvol);
    if (node.placeholder || node.ino !== from.rootIno) throw new UsageError(`snapshot: ${src} is not a subvolume`);
    const { dir, name, entry } = await this.parent(dst, 'snapshot');
    if (await this.lookup(dir, name)) throw new UsageError(`snapshot: ${dst}: EEXIST: file exists`);
    const id = this.nextSubvol++;
    const to = new ViewSubvol(id, from.image, from.tree, from.rootIno, readonly, true, from.nextIno, true, this.partialRefs);
    from.treeShared = true;
    for (const [ino, inode] of from.inodes) {
      if (inode.dead) continue;
      to.inodes.set(ino, this.newInode(to, ino, inode.kind, inode.size, inode.nlink, inode.nodatasum, inode.map?.clone(to.refs)));
    }
    for (const [dirIno, names] of from.edits) {
      // Subvolumes inside the source show as the kernel's empty placeholder directory in the snapshot.
      const copy = new Map<string, Entry | null>();
      for (const [n, e] of names) copy.set(n, e && 'subvol' in e ? { placeholder: true } : e);
      to.edits.set(dirIno, copy);
    }
    this.subvols.set(id, to);
    this.edit(await this.sub(dir.subvol), dir.ino, name, { subvol: id }, entry);
    return id;
  }

  /** Every inode of a subvolume the workload touched (for flushing before a snapshot). */
  async inodesOf(subvol: bigint): Promise<Iterable<EmuInode>> {
    return (await this.sub(subvol)).inodes.values();
  }

  // --- internals --------------------------------------------------------------------------------

  private newInode(sub: ViewSubvol, ino: bigint, kind: FileKind, size: bigint, nlink: number, nodatasum: boolean, map: FileMap | undefined): EmuInode {
    const inode = {
      id: inodeId(sub.id, ino), subvol: sub.id, ino, tree: sub.tree, kind, size, nlink, nodatasum, map, path: '', dead: false,
    } as EmuInode;
    // Until it changes, the file reads the image's items, from memory once loaded.
    const view = this;
    const load = async function* (from: bigint, to: bigint) {
      const map = await view.imageMap(inode);
      if (map) yield* map.mappings(from, to);
      else yield* mappings(inode.tree, inode.ino, view.sectorsize, from, to);
    };
    // Once the items are in memory they are iterated directly: an async generator around them
    // cost more than the lookups of a small file's pages.
    const unchanged = (from: bigint, to: bigint) => view.images.loadedMap(inode.tree, inode.ino)?.mappings(from, to) ?? load(from, to);
    inode.file = {
      subvol: sub.id, ino, tree: sub.tree, nodatasum,
      get size() { return inode.size; },
      get path() { return inode.path; },
      get mappings() { return inode.map ? (from: bigint, to: bigint) => inode.map!.mappings(from, to) : unchanged; },
    } as EmulatedFile;
    return inode;
  }

  /** The directory holding `path`'s last name, and the canonical path of that entry when known. */
  private async parent(path: string, syscall: string): Promise<{ dir: FsNode; name: Buffer; entry: string | undefined }> {
    const parts = path.split('/').filter((c) => c !== '' && c !== '.');
    const last = parts.pop();
    if (last === undefined || last === '..') throw new PathError('EINVAL', syscall, path);
    const { node: dir, canonical } = await this.resolveClean('/' + parts.join('/'), syscall, true);
    if ((await this.kindOf(dir)) !== 'dir') throw new PathError('ENOTDIR', syscall, path);
    return { dir, name: Buffer.from(last, 'utf8'), entry: canonical === undefined ? undefined : canonical === '/' ? `/${last}` : `${canonical}/${last}` };
  }

  private edit(sub: ViewSubvol, dirIno: bigint, name: Buffer, entry: Entry | null, path: string | undefined): void {
    let names = sub.edits.get(dirIno);
    if (!names) sub.edits.set(dirIno, (names = new Map()));
    names.set(name.toString('latin1'), entry);
    // Only names are added or removed (files, or a new snapshot where nothing was): no cached path
    // lies below the changed one. Reached through a symlink or "..", its canonical path is unknown.
    if (path === undefined) this.pathCache.clear();
    else {
      this.pathCache.delete(`f${path}`);
      this.pathCache.delete(`n${path}`);
    }
  }

  private async kindOf(node: FsNode): Promise<FileKind> {
    if (node.placeholder) return 'dir';
    const sub = await this.sub(node.subvol);
    const inode = sub.inodes.get(node.ino);
    if (inode) return inode.kind;
    return this.images.kind(sub.image, node.ino);
  }

  private async lookup(dir: FsNode, name: Buffer): Promise<DirEntry | undefined> {
    if (dir.placeholder) return undefined;
    const sub = await this.sub(dir.subvol);
    const edit = sub.edits.get(dir.ino)?.get(name.toString('latin1'));
    if (edit === null) return undefined;
    const placeholder = (): FsNode => ({ subvol: sub.id, ino: ObjectId.EMPTY_SUBVOL_DIR, placeholder: true, parent: dir });
    let node: FsNode;
    if (edit) {
      if ('subvol' in edit) node = { subvol: edit.subvol, ino: (await this.sub(edit.subvol)).rootIno };
      else if ('placeholder' in edit) node = placeholder();
      else node = { subvol: sub.id, ino: edit.ino };
    } else {
      const found = await this.images.child(sub.image, dir.ino, name);
      if (!found) return undefined;
      if (!sub.emulated) node = found;
      else node = found.placeholder || found.subvol !== sub.image ? placeholder() : { subvol: sub.id, ino: found.ino };
    }
    const entry: DirEntry = { location: { objectid: node.ino, type: KeyType.INODE_ITEM, offset: 0n }, transid: 0n, type: 0, name, data: Buffer.alloc(0) };
    this.entryNodes.set(entry, node);
    return entry;
  }

  private async imageMap(inode: EmuInode): Promise<FileMap | null> {
    return this.images.map(inode.tree, inode.ino);
  }

  private async sub(id: bigint): Promise<ViewSubvol> {
    const known = this.subvols.get(id);
    if (known) return known;
    const found = await this.btrfs.filesystem.rootItem(id);
    if (!found) throw new UsageError(`subvolume ${id} does not exist`);
    const tree = await this.btrfs.tree(id);
    const last = await tree.floor(key(ObjectId.LAST_FREE, 255, U64_MAX));
    const nextIno = last && last.key.objectid >= ObjectId.FIRST_FREE ? last.key.objectid + 1n : ObjectId.FIRST_FREE;
    const readonly = (found.item.flags & RootFlag.SUBVOL_RDONLY) !== 0n;
    const sub = new ViewSubvol(id, id, tree, found.item.root_dirid, readonly, false, nextIno, this.snapshotted.has(id), this.partialRefs);
    this.subvols.set(id, sub);
    return sub;
  }
}

/** "/" and names that are neither empty, "." nor "..", each after one slash. */
const CANONICAL = /^(?:\/|(?:\/(?!\.\.?(?:\/|$))[^/]+)+)$/;

/** "/a/b" for "//a/./b/", undefined when the path has ".." (then it does not name its node directly). */
function canonicalPath(path: string): string | undefined {
  // Most paths (every path a walk makes) are canonical already: no need to split them.
  if (CANONICAL.test(path)) return path;
  const parts = path.split('/').filter((c) => c !== '' && c !== '.');
  if (parts.includes('..')) return undefined;
  return '/' + parts.join('/');
}
