// Partition tables of whole-disk images: GPT (primary header at LBA 1) and MBR primary partitions.
// Pure decoding over the first sectors; choosing the Btrfs partition happens in devices.ts.

import { CorruptError } from '../errors.js';

export interface Partition {
  /** 1-based, as fdisk and the kernel number them. */
  number: number;
  start: number;
  size: number;
  type: string;
}

export interface PartitionTable {
  kind: 'gpt' | 'mbr';
  partitions: Partition[];
}

const GPT_SIGNATURE = Buffer.from('EFI PART', 'ascii');
const MAX_GPT_ENTRIES = 1024;

/**
 * `head` is at least the first 34 KiB of the disk (MBR, GPT header, the usual 128 entries);
 * `readAt` fetches entry arrays that live elsewhere.
 */
export async function readPartitionTable(
  readAt: (position: number, length: number) => Promise<Buffer>,
  diskSize: number,
): Promise<PartitionTable | null> {
  if (diskSize < 1024) return null;
  const mbr = await readAt(0, 512);
  if (mbr[510] !== 0x55 || mbr[511] !== 0xaa) return null;
  for (const sectorSize of [512, 4096]) {
    if (diskSize < sectorSize * 2) continue;
    const hdr = await readAt(sectorSize, 92);
    if (hdr.subarray(0, 8).equals(GPT_SIGNATURE)) return decodeGpt(hdr, sectorSize, readAt, diskSize);
  }
  return decodeMbr(mbr, diskSize);
}

async function decodeGpt(
  hdr: Buffer, sectorSize: number, readAt: (p: number, l: number) => Promise<Buffer>, diskSize: number,
): Promise<PartitionTable> {
  const entriesLba = hdr.readBigUInt64LE(72);
  const count = hdr.readUInt32LE(80);
  const entrySize = hdr.readUInt32LE(84);
  if (count > MAX_GPT_ENTRIES || entrySize < 128 || entrySize > 4096) {
    throw new CorruptError(`GPT header: ${count} entries of ${entrySize} bytes is outside what the format allows`);
  }
  const at = Number(entriesLba) * sectorSize;
  if (!Number.isSafeInteger(at) || at + count * entrySize > diskSize) throw new CorruptError('GPT entry array lies outside the disk');
  const table = await readAt(at, count * entrySize);
  const partitions: Partition[] = [];
  for (let i = 0; i < count; i++) {
    const e = table.subarray(i * entrySize, (i + 1) * entrySize);
    if (e.subarray(0, 16).every((b) => b === 0)) continue;
    const first = Number(e.readBigUInt64LE(32));
    const last = Number(e.readBigUInt64LE(40));
    if (last < first) continue;
    partitions.push({ number: i + 1, start: first * sectorSize, size: (last - first + 1) * sectorSize, type: guidString(e.subarray(0, 16)) });
  }
  return { kind: 'gpt', partitions };
}

function decodeMbr(mbr: Buffer, diskSize: number): PartitionTable | null {
  const partitions: Partition[] = [];
  for (let i = 0; i < 4; i++) {
    const e = mbr.subarray(446 + i * 16, 446 + (i + 1) * 16);
    const type = e[4]!;
    const startLba = e.readUInt32LE(8);
    const sectors = e.readUInt32LE(12);
    if (type === 0 || sectors === 0) continue;
    if (e[0] !== 0 && e[0] !== 0x80) return null; // not a partition table: a filesystem boot sector
    partitions.push({ number: i + 1, start: startLba * 512, size: Math.min(sectors * 512, diskSize - startLba * 512), type: `0x${type.toString(16).padStart(2, '0')}` });
  }
  return partitions.length ? { kind: 'mbr', partitions } : null;
}

function guidString(b: Buffer): string {
  const hex = (s: Buffer) => s.toString('hex');
  const le = (s: Buffer) => Buffer.from(s).reverse().toString('hex');
  return `${le(b.subarray(0, 4))}-${le(b.subarray(4, 6))}-${le(b.subarray(6, 8))}-${hex(b.subarray(8, 10))}-${hex(b.subarray(10, 16))}`;
}
