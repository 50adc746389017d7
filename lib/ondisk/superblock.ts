// The superblock: where every tree starts, and what the filesystem is. Pure decoding and checks;
// reading the 4 KiB from a device and verifying its checksum happen in the caller.

import { CorruptError, UnsupportedError } from '../errors.js';
import {
  BTRFS_MAGIC, CSUM_SIZE, FSID_SIZE, IncompatFeature, LABEL_SIZE, MAX_METADATA_BLOCKSIZE, SUPERBLOCK_SIZE,
  SUPPORTED_INCOMPAT, SYSTEM_CHUNK_ARRAY_SIZE, flagNames,
} from './constants.js';
import { array, bytes, le16, le32, le64, struct, u8 } from './struct.js';
import { devItem } from './items/dev-item.js';

export const rootBackup = struct('btrfs_root_backup', {
  tree_root: le64,
  tree_root_gen: le64,
  chunk_root: le64,
  chunk_root_gen: le64,
  extent_root: le64,
  extent_root_gen: le64,
  fs_root: le64,
  fs_root_gen: le64,
  dev_root: le64,
  dev_root_gen: le64,
  csum_root: le64,
  csum_root_gen: le64,
  total_bytes: le64,
  bytes_used: le64,
  num_devices: le64,
  unused_64: bytes(32),
  tree_root_level: u8,
  chunk_root_level: u8,
  extent_root_level: u8,
  fs_root_level: u8,
  dev_root_level: u8,
  csum_root_level: u8,
  unused_8: bytes(10),
});

export const superBlock = struct('btrfs_super_block', {
  csum: bytes(CSUM_SIZE),
  fsid: bytes(FSID_SIZE),
  bytenr: le64,
  flags: le64,
  magic: le64,
  generation: le64,
  root: le64,
  chunk_root: le64,
  log_root: le64,
  unused_log_root_transid: le64,
  total_bytes: le64,
  bytes_used: le64,
  root_dir_objectid: le64,
  num_devices: le64,
  sectorsize: le32,
  nodesize: le32,
  unused_leafsize: le32,
  stripesize: le32,
  sys_chunk_array_size: le32,
  chunk_root_generation: le64,
  compat_flags: le64,
  compat_ro_flags: le64,
  incompat_flags: le64,
  csum_type: le16,
  root_level: u8,
  chunk_root_level: u8,
  log_root_level: u8,
  dev_item: devItem,
  label: bytes(LABEL_SIZE),
  cache_generation: le64,
  uuid_tree_generation: le64,
  metadata_uuid: bytes(FSID_SIZE),
  nr_global_roots: le64,
  block_group_root: le64,
  block_group_root_generation: le64,
  block_group_root_level: u8,
  reserved8: bytes(7),
  reserved: bytes(24 * 8),
  sys_chunk_array: bytes(SYSTEM_CHUNK_ARRAY_SIZE),
  super_roots: array(rootBackup, 4),
  padding: bytes(565),
});

export type SuperBlock = ReturnType<typeof superBlock.decode>;

/** Bytes the superblock checksum covers: everything after the csum field. */
export const SUPERBLOCK_CSUM_START = CSUM_SIZE;

export function decodeSuperblock(buf: Buffer): SuperBlock {
  if (buf.length < SUPERBLOCK_SIZE) throw new CorruptError(`superblock is ${buf.length} bytes, expected ${SUPERBLOCK_SIZE}`);
  return superBlock.decode(buf, 0);
}

export function hasMagic(buf: Buffer): boolean {
  return buf.length >= 72 && buf.readBigUInt64LE(superBlock.offsetOf('magic')) === BTRFS_MAGIC;
}

export function labelOf(sb: SuperBlock): string {
  const end = sb.label.indexOf(0);
  return sb.label.subarray(0, end < 0 ? sb.label.length : end).toString('utf8');
}

/** The fsid written into tree block headers: metadata_uuid when that feature is on. */
export function metadataFsid(sb: SuperBlock): Buffer {
  return sb.incompat_flags & IncompatFeature.METADATA_UUID ? sb.metadata_uuid : sb.fsid;
}

/**
 * Sanity checks in the spirit of the kernel's btrfs_validate_super: anything that would make later
 * arithmetic meaningless is refused here, once.
 */
export function validateSuperblock(sb: SuperBlock, expectedBytenr: bigint, where: string): void {
  const bad = (what: string) => new CorruptError(`superblock: ${what}`, { device: where, physical: expectedBytenr });
  if (sb.magic !== BTRFS_MAGIC) throw bad('bad magic, not a Btrfs filesystem');
  if (sb.bytenr !== expectedBytenr) throw bad(`bytenr is ${sb.bytenr}, expected ${expectedBytenr}`);
  const { sectorsize, nodesize } = sb;
  if (!isPowerOfTwo(sectorsize) || sectorsize < 4096 || sectorsize > 65536) throw bad(`invalid sectorsize ${sectorsize}`);
  if (!isPowerOfTwo(nodesize) || nodesize < sectorsize || nodesize > MAX_METADATA_BLOCKSIZE) throw bad(`invalid nodesize ${nodesize}`);
  if (sb.stripesize !== sectorsize && sb.stripesize !== 4096) {
    // The kernel only insists stripesize is a power of two; progs writes sectorsize.
    if (!isPowerOfTwo(sb.stripesize)) throw bad(`invalid stripesize ${sb.stripesize}`);
  }
  if (sb.sys_chunk_array_size > SYSTEM_CHUNK_ARRAY_SIZE) throw bad(`sys_chunk_array_size ${sb.sys_chunk_array_size} exceeds ${SYSTEM_CHUNK_ARRAY_SIZE}`);
  if (sb.num_devices === 0n) throw bad('num_devices is 0');
  if (sb.root_level >= 8 || sb.chunk_root_level >= 8 || sb.log_root_level >= 8) throw bad('tree root level out of range');
  const aligned = (v: bigint) => v % BigInt(sectorsize) === 0n;
  if (!aligned(sb.root) || !aligned(sb.chunk_root) || !aligned(sb.log_root)) throw bad('tree root not aligned to sectorsize');
  const unknown = sb.incompat_flags & ~SUPPORTED_INCOMPAT;
  if (unknown) {
    throw new UnsupportedError(`incompat features ${flagNames(unknown, IncompatFeature as unknown as Record<string, bigint>).join(', ')}`, { device: where });
  }
}

function isPowerOfTwo(n: number): boolean {
  return n > 0 && (n & (n - 1)) === 0;
}
