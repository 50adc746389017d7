// The fs-like API over one opened filesystem, rooted at one subvolume (5 unless asked otherwise):
// readdir, stat/lstat, readlink, readFile, createReadStream, xattrs, subvolumes, file extent maps.

import { Readable } from 'node:stream';
import { CorruptError, PathError, UsageError } from '../errors.js';
import { InodeFlag, KeyType, ObjectId } from '../ondisk/constants.js';
import type { DirEntry } from '../ondisk/items/dir-item.js';
import type { InodeItem } from '../ondisk/items/inode-item.js';
import { CsumTree } from './csum-tree.js';
import { fileExtentItems, type RawFileExtent } from './file-extents.js';
import { Filesystem, type FilesystemOptions } from './filesystem.js';
import { eachDirEntry, getXattrItem, listXattrItems, lookupName, readInodeItem, type IndexedDirEntry } from './inode.js';
import { entryKind, resolve, type FsNode, type PathContext } from './path.js';
import type { FileRef } from './file-ref.js';
import { BtrfsBigIntStats, BtrfsStats, factsFromInode, kindOfMode, S_IFDIR, type FileKind, type InodeFacts } from './stats.js';
import { backrefOf, listSubvolumes, rootRefMatches, type Subvolume } from './subvolumes.js';
import type { Tree } from '../tree/tree.js';
import { loadDecompress, type LazyDecompress } from './decompress.js';
import { DataExtents, type DataContext } from '../extents/data-extents.js';
import { Shareability } from '../extents/shareability.js';
import { ExtentCache } from '../reader/extent-cache.js';
import { FileReader, newReaderCounters, type ReaderCounters } from '../reader/file-reader.js';
import { TwoGenerationMap } from '../cache/two-generations.js';
import { damageWarnings, type DamageWarning } from './warnings.js';

export interface OpenOptions extends FilesystemOptions {
  /** Other member devices of a multi-device filesystem. */
  devices?: string[];
  /** Root the view at this subvolume: an id, or a path from the top level. Default: 5 (the top level). */
  subvol?: bigint | number | string;
  /** Budget of the cache of shared file data (decompressed extents, verified ranges), in bytes (default 32 MiB). */
  cacheBytes?: number;
}

export interface Dirent {
  name: string;
  /** Raw bytes of the name (names need not be UTF-8). */
  nameBytes: Buffer;
  type: FileKind;
  isFile(): boolean;
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
  isFIFO(): boolean;
  isCharacterDevice(): boolean;
  isBlockDevice(): boolean;
  isSocket(): boolean;
}

/** A directory entry; the type tests live on the prototype (a walk makes one per entry). */
class BtrfsDirent implements Dirent {
  readonly name: string;
  constructor(readonly nameBytes: Buffer, readonly type: FileKind) {
    this.name = nameBytes.toString('utf8');
  }
  isFile(): boolean { return this.type === 'file'; }
  isDirectory(): boolean { return this.type === 'dir'; }
  isSymbolicLink(): boolean { return this.type === 'symlink'; }
  isFIFO(): boolean { return this.type === 'fifo'; }
  isCharacterDevice(): boolean { return this.type === 'chr'; }
  isBlockDevice(): boolean { return this.type === 'blk'; }
  isSocket(): boolean { return this.type === 'sock'; }
}

function makeDirent(nameBytes: Buffer, type: FileKind): Dirent {
  return new BtrfsDirent(nameBytes, type);
}

/** Node's fs.readFile refuses files over 2 GiB; so do we (use createReadStream). */
const MAX_READFILE = 2 ** 31 - 1;
const MAX_SYMLINK_TARGET = 4095;
/** Inode items per cache generation (two are kept): a few MiB. */
const INODE_GENERATION = 2048;

/**
 * A cache key for (subvolume, inode): one exact number for every id a real filesystem has (subvolume
 * below 2^20, inode below 2^32), a string otherwise. Printing two bigints per lookup cost more than
 * the lookup.
 */
function inodeKey(node: FsNode): number | string {
  const { subvol, ino } = node;
  return subvol < 0x100000n && ino < 0x100000000n ? Number(subvol) * 0x100000000 + Number(ino) : `${subvol}:${ino}`;
}

export class Btrfs {
  /** File data through the cache keyed by logical address (see lib/reader). */
  readonly reader: FileReader;
  /** What every read of file data through this filesystem did. */
  readonly counters: ReaderCounters;
  /** Reading verified, decompressed logical extents: what the reader and the emulator build on. */
  readonly dataContext: DataContext;
  readonly shareability: Shareability;
  private readonly ctx: PathContext;
  /** Inode items read lately (a walk asks for each inode several times in a row). */
  private readonly items = new TwoGenerationMap<number | string, Promise<InodeItem | undefined>>(INODE_GENERATION);

  private constructor(readonly filesystem: Filesystem, readonly root: FsNode, codecs: LazyDecompress, csums: CsumTree, options: OpenOptions) {
    const fs = filesystem;
    this.dataContext = {
      volume: fs.volume, csums, sectorsize: fs.sectorsize, checksummer: fs.checksummer, decompress: codecs.decompress, prepareDecompress: codecs.prepare,
    };
    this.shareability = new Shareability(fs);
    this.counters = newReaderCounters();
    const cache = new ExtentCache(options.cacheBytes ?? 32 * 1024 * 1024);
    this.reader = new FileReader(new DataExtents(this.dataContext, this.counters), this.shareability, cache, this.counters);
    this.ctx = {
      root,
      isDirectory: async (n) => n.placeholder === true || kindOfMode((await this.inode(n)).mode) === 'dir',
      isSymlink: async (n) => !n.placeholder && kindOfMode((await this.inode(n)).mode) === 'symlink',
      lookup: async (dir, name) => (dir.placeholder ? undefined : lookupName(await this.tree(dir.subvol), dir.ino, name)),
      enter: (dir, entry) => this.enter(dir, entry),
      readlink: (n) => this.readlinkNode(n),
    };
  }

  static async open(images: string | string[], options: OpenOptions = {}): Promise<Btrfs> {
    const paths = [...(Array.isArray(images) ? images : [images]), ...(options.devices ?? [])];
    const fs = await Filesystem.open(paths, options);
    try {
      const csumRoot = await fs.rootItem(ObjectId.CSUM_TREE);
      const csums = new CsumTree(csumRoot ? await fs.tree(ObjectId.CSUM_TREE) : undefined, fs.checksummer.size, fs.sectorsize);
      const rootSubvol = await resolveSubvolOption(fs, options.subvol);
      const found = await fs.rootItem(rootSubvol);
      if (!found) throw new UsageError(`subvolume ${rootSubvol} does not exist`);
      return new Btrfs(fs, { subvol: rootSubvol, ino: found.item.root_dirid }, loadDecompress(fs.sectorsize), csums, options);
    } catch (e) {
      await fs.close();
      throw e;
    }
  }

  async close(): Promise<void> {
    await this.filesystem.close();
  }

  // --- nodes -------------------------------------------------------------------------------

  async tree(subvol: bigint): Promise<Tree> {
    return this.filesystem.tree(subvol);
  }

  private async inode(node: FsNode): Promise<InodeItem> {
    const id = inodeKey(node);
    let pending = this.items.get(id);
    if (!pending) {
      pending = this.tree(node.subvol).then((t) => readInodeItem(t, node.ino));
      this.items.set(id, pending);
    }
    const item = await pending;
    if (!item) throw new CorruptError('directory entry points to an inode with no INODE_ITEM', { tree: node.subvol, key: `(${node.ino} INODE_ITEM 0)` });
    return item;
  }

  private async enter(dir: FsNode, entry: DirEntry): Promise<FsNode> {
    if (entry.location.type === KeyType.INODE_ITEM) return { subvol: dir.subvol, ino: entry.location.objectid };
    if (entry.location.type !== KeyType.ROOT_ITEM) {
      throw new CorruptError(`directory entry has location type ${entry.location.type}`, { tree: dir.subvol, key: `(${dir.ino} DIR_ITEM)` });
    }
    const child = entry.location.objectid;
    // Only a subvolume attached at exactly this place (a ROOT_REF) is entered; a snapshot's copy of
    // an entry for a nested subvolume is the kernel's empty placeholder directory.
    if (await rootRefMatches(this.filesystem, dir.subvol, child, dir.ino, entry.name)) {
      const found = await this.filesystem.rootItem(child);
      if (found) return { subvol: child, ino: found.item.root_dirid };
    }
    return { subvol: dir.subvol, ino: ObjectId.EMPTY_SUBVOL_DIR, placeholder: true, parent: dir };
  }

  async facts(node: FsNode): Promise<InodeFacts> {
    if (node.placeholder) return this.placeholderFacts(node);
    return factsFromInode(node.subvol, node.ino, await this.inode(node), this.filesystem.sectorsize);
  }

  private async placeholderFacts(node: FsNode): Promise<InodeFacts> {
    // The kernel makes this inode up at lookup time (new_simple_dir): a root-owned 0755 directory
    // with the parent's atime, no birth time, and mtime/ctime of the moment of the lookup. That
    // moment is not in the image; we show the parent's atime for all three.
    const atimeNs = node.parent ? (await this.facts(node.parent)).atimeNs : 0n;
    return {
      subvol: node.subvol, ino: node.ino, mode: S_IFDIR | 0o755, nlink: 1, uid: 0, gid: 0, rdev: 0n, size: 0n, nbytes: 0n,
      blksize: this.filesystem.sectorsize, atimeNs, mtimeNs: atimeNs, ctimeNs: atimeNs, birthtimeNs: 0n, generation: 0n, flags: 0n,
    };
  }

  node(path: string, follow = true, syscall = 'stat'): Promise<FsNode> {
    return resolve(this.ctx, path, follow, syscall);
  }

  // --- fs/promises-like API -------------------------------------------------------------------

  stat(path: string, options?: { bigint?: false }): Promise<BtrfsStats>;
  stat(path: string, options: { bigint: true }): Promise<BtrfsBigIntStats>;
  async stat(path: string, options: { bigint?: boolean } = {}): Promise<BtrfsStats | BtrfsBigIntStats> {
    const f = await this.facts(await this.node(path, true, 'stat'));
    return options.bigint ? new BtrfsBigIntStats(f) : new BtrfsStats(f);
  }

  lstat(path: string, options?: { bigint?: false }): Promise<BtrfsStats>;
  lstat(path: string, options: { bigint: true }): Promise<BtrfsBigIntStats>;
  async lstat(path: string, options: { bigint?: boolean } = {}): Promise<BtrfsStats | BtrfsBigIntStats> {
    const f = await this.facts(await this.node(path, false, 'lstat'));
    return options.bigint ? new BtrfsBigIntStats(f) : new BtrfsStats(f);
  }

  readdir(path: string, options?: { withFileTypes?: false }): Promise<string[]>;
  readdir(path: string, options: { withFileTypes: true }): Promise<Dirent[]>;
  async readdir(path: string, options: { withFileTypes?: boolean } = {}): Promise<string[] | Dirent[]> {
    const node = await this.node(path, true, 'scandir');
    const entries = await this.readdirNode(node, path);
    return options.withFileTypes ? entries : entries.map((e) => e.name);
  }

  /** Entries of a directory node in readdir order (DIR_INDEX order). */
  async readdirNode(node: FsNode, pathForErrors = ''): Promise<Dirent[]> {
    return (await this.children(node, pathForErrors)).map((c) => c.dirent);
  }

  /**
   * Entries of a directory node with the nodes they lead to, in readdir order. Walks use this: the
   * DIR_INDEX item already holds each entry's location, so no second lookup by name is needed.
   */
  async children(node: FsNode, pathForErrors = ''): Promise<Array<{ dirent: Dirent; node: FsNode }>> {
    if (node.placeholder) return [];
    if (kindOfMode((await this.inode(node)).mode) !== 'dir') throw new PathError('ENOTDIR', 'scandir', pathForErrors);
    const entries: IndexedDirEntry[] = [];
    await eachDirEntry(await this.tree(node.subvol), node.ino, (e) => entries.push(e));
    const out: Array<{ dirent: Dirent; node: FsNode }> = new Array(entries.length);
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      // A plain inode needs no lookup; a subvolume's entry is entered the way the kernel does.
      const child = e.location.type === KeyType.INODE_ITEM ? { subvol: node.subvol, ino: e.location.objectid } : await this.enter(node, e);
      out[i] = { dirent: makeDirent(e.name, entryKind(e)), node: child };
    }
    return out;
  }

  /** The child node of a directory by name (no symlink following). */
  async child(dir: FsNode, name: Buffer): Promise<FsNode | undefined> {
    const e = await this.ctx.lookup(dir, name);
    return e ? this.enter(dir, e) : undefined;
  }

  async readlink(path: string): Promise<string> {
    const node = await this.node(path, false, 'readlink');
    if (!(await this.ctx.isSymlink(node))) throw new PathError('EINVAL', 'readlink', path);
    return (await this.readlinkNode(node)).toString('utf8');
  }

  async readlinkNode(node: FsNode): Promise<Buffer> {
    const file = await this.fileRef(node, '');
    if (file.size > BigInt(MAX_SYMLINK_TARGET)) {
      throw new CorruptError(`symlink target of ${file.size} bytes exceeds ${MAX_SYMLINK_TARGET}`, { tree: node.subvol, key: `(${node.ino} INODE_ITEM 0)` });
    }
    return this.readAll(file);
  }

  async fileRef(node: FsNode, path: string): Promise<FileRef> {
    const item = await this.inode(node);
    return {
      subvol: node.subvol, ino: node.ino, tree: await this.tree(node.subvol), size: item.size,
      nodatasum: (item.flags & InodeFlag.NODATASUM) !== 0n, path,
    };
  }

  /** The regular file (or other non-directory) at `path`, symlinks followed; EISDIR for a directory. */
  async fileAt(path: string, syscall = 'open'): Promise<FileRef> {
    const node = await this.node(path, true, syscall);
    const kind = node.placeholder ? 'dir' : kindOfMode((await this.inode(node)).mode);
    if (kind === 'dir') throw new PathError('EISDIR', syscall, path);
    return this.fileRef(node, path);
  }

  async readFile(path: string): Promise<Buffer> {
    const file = await this.fileAt(path, 'open');
    if (file.size > BigInt(MAX_READFILE)) throw new UsageError(`${path}: file is ${file.size} bytes, too large for readFile; use createReadStream`);
    return this.readAll(file);
  }

  private async readAll(file: FileRef): Promise<Buffer> {
    const out = Buffer.allocUnsafe(Number(file.size));
    await this.reader.read(file, 0n, out);
    return out;
  }

  /** Bytes [position, position + length) of a file; shorter at end of file. */
  async read(path: string, position: bigint | number, length: number): Promise<Buffer> {
    const file = await this.fileAt(path, 'read');
    const out = Buffer.allocUnsafe(length);
    return out.subarray(0, await this.reader.read(file, BigInt(position), out));
  }

  /** Like fs.createReadStream: `end` is inclusive. */
  createReadStream(path: string, options: { start?: number | bigint; end?: number | bigint; highWaterMark?: number } = {}): Readable {
    const chunk = options.highWaterMark ?? 1024 * 1024;
    const self = this;
    async function* generate(): AsyncGenerator<Buffer> {
      const file = await self.fileAt(path, 'open');
      let pos = BigInt(options.start ?? 0);
      const stop = options.end !== undefined ? BigInt(options.end) + 1n : file.size;
      const end = stop < file.size ? stop : file.size;
      while (pos < end) {
        const n = end - pos < BigInt(chunk) ? Number(end - pos) : chunk;
        const buf = Buffer.allocUnsafe(n);
        await self.reader.read(file, pos, buf);
        if (buf.length === 0) break;
        pos += BigInt(buf.length);
        yield buf;
      }
    }
    return Readable.from(generate(), { objectMode: false });
  }

  async listXattrs(path: string, options: { follow?: boolean } = {}): Promise<string[]> {
    const node = await this.node(path, options.follow ?? false, 'listxattr');
    return (await this.xattrsNode(node)).map(([name]) => name);
  }

  async getXattr(path: string, name: string, options: { follow?: boolean } = {}): Promise<Buffer> {
    const node = await this.node(path, options.follow ?? false, 'getxattr');
    if (node.placeholder) throw new PathError('ENODATA', 'getxattr', path);
    const e = await getXattrItem(await this.tree(node.subvol), node.ino, Buffer.from(name, 'utf8'));
    if (!e) throw new PathError('ENODATA', 'getxattr', path);
    return e.data;
  }

  /** Every xattr of a node as [name, value], in key order. */
  async xattrsNode(node: FsNode): Promise<Array<[string, Buffer]>> {
    if (node.placeholder) return [];
    return (await listXattrItems(await this.tree(node.subvol), node.ino)).map((e) => [e.name.toString('utf8'), e.data]);
  }

  subvolumes(): Promise<Subvolume[]> {
    return listSubvolumes(this.filesystem);
  }

  /** File extent items of a path (the raw map, extents past EOF included). */
  async fileExtents(path: string): Promise<{ node: FsNode; size: bigint; extents: RawFileExtent[] }> {
    const file = await this.fileAt(path, 'open');
    const extents: RawFileExtent[] = [];
    for await (const e of fileExtentItems(file.tree, file.ino, this.filesystem.sectorsize)) extents.push(e);
    return { node: { subvol: file.subvol, ino: file.ino }, size: file.size, extents };
  }

  /** What was read around so far: bad copies, missing devices, a cut-short image (one warning per kind). */
  warnings(): DamageWarning[] {
    return damageWarnings(this.filesystem);
  }

  /** Which subvolume holds `id`, and where (for paths of subvolume roots). */
  backref(id: bigint) {
    return backrefOf(this.filesystem, id);
  }
}

async function resolveSubvolOption(fs: Filesystem, subvol: OpenOptions['subvol']): Promise<bigint> {
  if (subvol === undefined) return ObjectId.FS_TREE;
  if (typeof subvol === 'bigint' || typeof subvol === 'number' || /^\d+$/.test(subvol)) {
    const id = BigInt(subvol);
    if (id !== ObjectId.FS_TREE && !(await fs.rootItem(id))) throw new UsageError(`no subvolume with id ${id}`);
    return id;
  }
  const want = subvol.replace(/^\/+|\/+$/g, '');
  if (want === '') return ObjectId.FS_TREE;
  const found = (await listSubvolumes(fs)).find((s) => s.path === want);
  if (!found) throw new UsageError(`no subvolume at path ${subvol}`);
  return found.id;
}
