// Gathering the devices of one filesystem: the files given, partitions inside whole-disk images, and
// (when members are missing) the other images in the first file's folder, matched by fsid and devid.

import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { loadChecksummer, type Checksummer } from '../checksum/index.js';
import { ChecksumError, CorruptError, IoError, UsageError } from '../errors.js';
import { SUPERBLOCK_OFFSETS, SUPERBLOCK_SIZE } from '../ondisk/constants.js';
import { decodeSuperblock, hasMagic, SUPERBLOCK_CSUM_START, validateSuperblock, type SuperBlock } from '../ondisk/superblock.js';
import { formatUuid } from '../ondisk/uuid.js';
import { readPartitionTable } from './partition.js';
import { FileSource, SliceSource, type ImageSource } from './source.js';
import { gunzipToCache, isGzipPath } from './gzip-cache.js';
import { openImageFile, type ContainerOptions } from './container.js';

export interface Device {
  devid: bigint;
  uuid: Buffer;
  source: ImageSource;
  superblock: SuperBlock;
}

export interface SourceOptions extends ContainerOptions {
  /** 1-based partition number inside a whole-disk image. */
  partition?: number;
  /** Byte offset of the filesystem inside the image (overrides partition detection). */
  offset?: number;
}

export interface DeviceOptions extends SourceOptions {
  /** Which superblock copy to trust: 0 (primary, default), 1 or 2. */
  superblockMirror?: number;
  /** Look for missing members among the other files in the first image's folder (default true). */
  scanFolder?: boolean;
}

const MAX_FOLDER_SCAN = 4096;

/** Open an image and find the Btrfs filesystem in it: at offset 0, at `offset`, or in a partition. */
export async function openFilesystemSource(path: string, options: SourceOptions = {}): Promise<ImageSource> {
  // Containers (qcow2, E01, VMDK, VHD, VHDX, split raw) are read through; partitions are inside them.
  const file = await openImageFile(path, options);
  try {
    if (options.offset !== undefined) {
      if (!Number.isSafeInteger(options.offset) || options.offset < 0 || options.offset >= file.size) {
        throw new UsageError(`--offset ${options.offset} is outside the image (${file.size} bytes)`);
      }
      return new SliceSource(file, options.offset, file.size - options.offset, `${path}@${options.offset}`);
    }
    if (options.partition === undefined && (await looksLikeBtrfs(file))) return file;
    const table = await readPartitionTable((p, l) => file.read(p, l), file.size);
    if (!table) {
      if (options.partition !== undefined) throw new UsageError(`${path}: no partition table, cannot select partition ${options.partition}`);
      throw new CorruptError('not a Btrfs filesystem (no Btrfs magic at 64 KiB, no partition table)', { device: path });
    }
    const slices = table.partitions.map((p) => new SliceSource(file, p.start, p.size, `${path} partition ${p.number}`));
    if (options.partition !== undefined) {
      const i = table.partitions.findIndex((p) => p.number === options.partition);
      if (i < 0) throw new UsageError(`${path}: no partition ${options.partition} in its ${table.kind.toUpperCase()} table`);
      return slices[i]!;
    }
    const btrfs: number[] = [];
    for (let i = 0; i < slices.length; i++) if (await looksLikeBtrfs(slices[i]!)) btrfs.push(i);
    if (btrfs.length === 1) return slices[btrfs[0]!]!;
    if (btrfs.length === 0) throw new CorruptError(`no Btrfs filesystem in any of ${table.partitions.length} ${table.kind.toUpperCase()} partitions`, { device: path });
    throw new UsageError(`${path}: several Btrfs partitions (${btrfs.map((i) => table.partitions[i]!.number).join(', ')}); choose one with --partition N`);
  } catch (e) {
    await file.close();
    throw e;
  }
}

async function looksLikeBtrfs(source: ImageSource): Promise<boolean> {
  const at = Number(SUPERBLOCK_OFFSETS[0]);
  if (source.size < at + SUPERBLOCK_SIZE) return false;
  return hasMagic(await source.read(at, SUPERBLOCK_SIZE));
}

/** Read, checksum-verify and validate one superblock copy. */
export async function readSuperblock(source: ImageSource, mirror = 0): Promise<{ superblock: SuperBlock; checksummer: Checksummer }> {
  const at = SUPERBLOCK_OFFSETS[mirror];
  if (at === undefined) throw new UsageError(`superblock mirror ${mirror} does not exist (0, 1 or 2)`);
  if (BigInt(source.size) < at + BigInt(SUPERBLOCK_SIZE)) {
    throw new IoError(mirror === 0 ? 'image too small to hold a Btrfs superblock' : `image too small for superblock copy ${mirror}`, { device: source.name });
  }
  const buf = await source.read(Number(at), SUPERBLOCK_SIZE);
  if (!hasMagic(buf)) throw new CorruptError('not a Btrfs filesystem (bad superblock magic)', { device: source.name, physical: at });
  const sb = decodeSuperblock(buf);
  const checksummer = await loadChecksummer(sb.csum_type);
  if (!checksummer.matches(buf.subarray(SUPERBLOCK_CSUM_START), sb.csum, 0)) {
    const actual = Buffer.from(checksummer.digest(buf.subarray(SUPERBLOCK_CSUM_START))).toString('hex');
    throw new ChecksumError('superblock', sb.csum.subarray(0, checksummer.size).toString('hex'), actual, { device: source.name, physical: at });
  }
  validateSuperblock(sb, at, source.name);
  return { superblock: sb, checksummer };
}

export interface DeviceSet {
  fsid: Buffer;
  /** The superblock everything else is read from (the newest generation among the members). */
  superblock: SuperBlock;
  checksummer: Checksummer;
  devices: Map<bigint, Device>;
  close(): Promise<void>;
}

/** Open the given images as members of one filesystem, looking in the first one's folder for the rest. */
export async function assembleDevices(paths: string[], options: DeviceOptions = {}): Promise<DeviceSet> {
  if (paths.length === 0) throw new UsageError('no image given');
  const opened: ImageSource[] = [];
  const devices = new Map<bigint, Device>();
  let fsid: Buffer | undefined;
  let best: { superblock: SuperBlock; checksummer: Checksummer } | undefined;
  const closeAll = async () => { await Promise.all(opened.map((s) => s.close().catch(() => undefined))); };
  const add = (source: ImageSource, superblock: SuperBlock, checksummer: Checksummer) => {
    const devid = superblock.dev_item.devid;
    devices.set(devid, { devid, uuid: superblock.dev_item.uuid, source, superblock });
    if (!best || superblock.generation > best.superblock.generation) best = { superblock, checksummer };
  };
  try {
    for (const [i, path] of paths.entries()) {
      // Partition and offset options apply to the first image; further members are whole files.
      const source = await openFilesystemSource(path, i === 0 ? options : {});
      opened.push(source);
      const { superblock, checksummer } = await readSuperblock(source, options.superblockMirror ?? 0);
      if (!fsid) fsid = superblock.fsid;
      else if (!superblock.fsid.equals(fsid)) {
        throw new UsageError(`${path} belongs to filesystem ${formatUuid(superblock.fsid)}, not ${formatUuid(fsid)}`);
      }
      const devid = superblock.dev_item.devid;
      if (devices.has(devid)) throw new UsageError(`${path} and ${devices.get(devid)!.source.name} are both devid ${devid}`);
      add(source, superblock, checksummer);
    }
    const wanted = best!.superblock.num_devices;
    if (BigInt(devices.size) < wanted && options.scanFolder !== false) {
      const seen = new Set(paths.map((p) => resolve(p)));
      const folder = dirname(resolve(paths[0]!));
      let names: string[] = [];
      try { names = (await readdir(folder)).sort().slice(0, MAX_FOLDER_SCAN); } catch { /* unreadable folder: nothing to add */ }
      for (const name of names) {
        if (BigInt(devices.size) >= wanted) break;
        const candidate = join(folder, name);
        if (seen.has(candidate)) continue;
        const st = await stat(candidate).catch(() => undefined);
        if (!st?.isFile()) continue;
        // Gzipped members are considered only beside a gzipped first image (the fixtures' layout).
        const gz = isGzipPath(candidate);
        if (gz !== isGzipPath(paths[0]!)) continue;
        if (!gz && st.size < Number(SUPERBLOCK_OFFSETS[0]) + SUPERBLOCK_SIZE) continue;
        let source: ImageSource | undefined;
        try {
          source = await FileSource.open(gz ? await gunzipToCache(candidate) : candidate, candidate);
          const { superblock, checksummer } = await readSuperblock(source, options.superblockMirror ?? 0);
          if (superblock.fsid.equals(fsid!) && !devices.has(superblock.dev_item.devid)) {
            opened.push(source);
            add(source, superblock, checksummer);
            continue;
          }
        } catch { /* not a member: skip it */ }
        await source?.close();
      }
    }
  } catch (e) {
    await closeAll();
    throw e;
  }
  return { fsid: fsid!, superblock: best!.superblock, checksummer: best!.checksummer, devices, close: closeAll };
}

export function describeDevice(d: Device): string {
  return `devid ${d.devid} (${basename(d.source.name)})`;
}
