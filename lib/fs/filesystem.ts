// The opened filesystem: devices, the chunk map, verified tree blocks, and the trees by id.
// Everything below the fs-like API goes through this one object.

import type { Checksummer } from '../checksum/index.js';
import { CorruptError, MissingDeviceError } from '../errors.js';
import { assembleDevices, type DeviceOptions, type DeviceSet } from '../io/devices.js';
import { KeyType, ObjectId } from '../ondisk/constants.js';
import { decodeChunk } from '../ondisk/items/chunk.js';
import { devItem, type DevItem } from '../ondisk/items/dev-item.js';
import { decodeRootItem, type RootItem } from '../ondisk/items/root-item.js';
import { formatKey, key, U64_MAX } from '../ondisk/key.js';
import { metadataFsid, type SuperBlock } from '../ondisk/superblock.js';
import { formatUuid } from '../ondisk/uuid.js';
import { BlockReader } from '../tree/block-reader.js';
import { Tree, type TreeRoot } from '../tree/tree.js';
import { ChunkMap } from '../volume/chunk-map.js';
import { Volume } from '../volume/volume.js';

export interface FilesystemOptions extends DeviceOptions {
  /** Bytes of verified tree blocks to keep in memory (default 8 MiB). */
  treeCacheBytes?: number;
}

export class Filesystem {
  readonly superblock: SuperBlock;
  readonly checksummer: Checksummer;
  readonly sectorsize: number;
  readonly nodesize: number;
  readonly rootTree: Tree;
  readonly chunkTree: Tree;
  /** DEV_ITEMs from the chunk tree: every device the filesystem has, present or not. */
  readonly devItems: Map<bigint, DevItem>;
  private readonly roots = new Map<bigint, Promise<{ root: TreeRoot; item: RootItem } | undefined>>();
  /** Tree objects by id (see tree()). */
  private readonly trees = new Map<bigint, Tree>();

  private constructor(
    readonly devices: DeviceSet,
    readonly volume: Volume,
    readonly blocks: BlockReader,
    chunkTree: Tree,
    rootTree: Tree,
    devItems: Map<bigint, DevItem>,
    /** DEV_ITEMs of members that were not found: the filesystem is open degraded. */
    readonly missingDevices: DevItem[] = [],
  ) {
    this.superblock = devices.superblock;
    this.checksummer = devices.checksummer;
    this.sectorsize = this.superblock.sectorsize;
    this.nodesize = this.superblock.nodesize;
    this.chunkTree = chunkTree;
    this.rootTree = rootTree;
    this.devItems = devItems;
  }

  static async open(paths: string[], options: FilesystemOptions = {}): Promise<Filesystem> {
    const devices = await assembleDevices(paths, options);
    try {
      const sb = devices.superblock;
      const chunks = ChunkMap.fromSuperblock(sb);
      const volume = new Volume(chunks, devices.devices);
      const verify = {
        checksummer: devices.checksummer, fsid: metadataFsid(sb), nodesize: sb.nodesize, sectorsize: sb.sectorsize,
        csumSize: devices.checksummer.size, superGeneration: sb.generation, incompat: sb.incompat_flags,
      };
      const blocks = new BlockReader(volume, verify, {
        ...(options.treeCacheBytes !== undefined ? { cacheBytes: options.treeCacheBytes } : {}),
      });
      const chunkTree = new Tree(blocks, { id: ObjectId.CHUNK_TREE, bytenr: sb.chunk_root, level: sb.chunk_root_level, generation: sb.chunk_root_generation });
      const devItems = new Map<bigint, DevItem>();
      for await (const it of chunkTree.range(key(0n, 0, 0n), key(U64_MAX, 255, U64_MAX))) {
        if (it.key.type === KeyType.CHUNK_ITEM) {
          const { chunk, size } = wrapItem(() => decodeChunk(it.data, 0), ObjectId.CHUNK_TREE, it);
          if (size !== it.data.length) throw new CorruptError(`chunk item is ${it.data.length} bytes, expected ${size}`, itemLoc(ObjectId.CHUNK_TREE, it));
          wrapItem(() => chunks.add(it.key.offset, chunk), ObjectId.CHUNK_TREE, it);
        } else if (it.key.type === KeyType.DEV_ITEM) {
          devItems.set(it.key.offset, wrapItem(() => devItem.decode(it.data, 0), ObjectId.CHUNK_TREE, it));
        }
      }
      // Degraded: open anyway. Mirrors and parity may cover the missing members; a read they cannot
      // cover fails there with a MissingDeviceError naming the device.
      const missing = [...devItems.values()].filter((d) => !devices.devices.has(d.devid));
      if (missing.length > 0 && missing.length >= devItems.size) {
        throw new MissingDeviceError(`every device is missing: ${missing.map(describeMissing).join(', ')}`);
      }
      const rootTree = new Tree(blocks, { id: ObjectId.ROOT_TREE, bytenr: sb.root, level: sb.root_level, generation: sb.generation });
      return new Filesystem(devices, volume, blocks, chunkTree, rootTree, devItems, missing);
    } catch (e) {
      await devices.close();
      throw e;
    }
  }

  /** The ROOT_ITEM of tree `id` (the newest, for snapshots keyed with a transid offset). */
  rootItem(id: bigint): Promise<{ root: TreeRoot; item: RootItem } | undefined> {
    let pending = this.roots.get(id);
    if (!pending) {
      pending = (async () => {
        const hit = await this.rootTree.floor(key(id, KeyType.ROOT_ITEM, U64_MAX));
        if (!hit || hit.key.objectid !== id || hit.key.type !== KeyType.ROOT_ITEM) return undefined;
        const item = wrapItem(() => decodeRootItem(hit.data), ObjectId.ROOT_TREE, hit);
        return { root: { id, bytenr: item.bytenr, level: item.level, generation: item.generation }, item };
      })();
      this.roots.set(id, pending);
    }
    return pending;
  }

  /**
   * Tree `id`, or a CorruptError naming what is missing. One object per tree, so that each keeps the
   * path of its last lookup for the next (a reader asks for neighbouring keys one after another).
   */
  async tree(id: bigint): Promise<Tree> {
    let tree = this.trees.get(id);
    if (!tree) {
      const found = await this.rootItem(id);
      if (!found) throw new CorruptError(`tree ${id} has no ROOT_ITEM in the root tree`);
      tree = this.trees.get(id) ?? new Tree(this.blocks, found.root);
      this.trees.set(id, tree);
    }
    return tree;
  }

  async close(): Promise<void> {
    await this.devices.close();
  }
}

/** "devid 3 uuid ...", the way a missing member is named in every message. */
export function describeMissing(d: DevItem): string {
  return `devid ${d.devid} uuid ${formatUuid(d.uuid)}`;
}

interface LocatedItem { key: { objectid: bigint; type: number; offset: bigint }; block: bigint; slot: number }

export function itemLoc(tree: bigint, it: LocatedItem) {
  return { tree, block: it.block, slot: it.slot, key: formatKey(it.key) };
}

/** Run an item decoder and give its CorruptError the item's location. */
export function wrapItem<T>(decode: () => T, tree: bigint, it: LocatedItem): T {
  try {
    return decode();
  } catch (e) {
    if (e instanceof CorruptError && !e.location.block) {
      throw new CorruptError(e.message, itemLoc(tree, it));
    }
    throw e;
  }
}
