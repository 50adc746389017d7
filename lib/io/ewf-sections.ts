// EWF (Expert Witness Compression Format, E01) structures, decoded from bytes: the segment file
// header, section descriptors, the volume section, table headers and the hash sections. Facts from
// libyal's "Expert Witness Compression Format" notes; all numbers little-endian.

import { CorruptError } from '../errors.js';
import { le32, le64, struct, u8 } from '../ondisk/struct.js';
import { adler32 } from './adler32.js';
import { safeNumber } from './fields.js';

export const EWF_SIGNATURE = Buffer.from([0x45, 0x56, 0x46, 0x09, 0x0d, 0x0a, 0xff, 0x00]);
export const FILE_HEADER_SIZE = 13;
export const SECTION_SIZE = 76;
export const TABLE_HEADER_SIZE = 24;

const sectionDescriptor = struct('ewf_section', { next: le64, size: le64 });
const volume = struct('ewf_volume', { media_type: u8, pad1: u8, pad2: u8, pad3: u8, chunk_count: le32, sectors_per_chunk: le32, bytes_per_sector: le32, sector_count: le64 });
const tableHeader = struct('ewf_table_header', { count: le32, pad: le32, base: le64, pad2: le32, checksum: le32 });

/** The segment number from a segment file's first 13 bytes. */
export function decodeFileHeader(buf: Buffer, device: string): number {
  if (buf.length < FILE_HEADER_SIZE || !buf.subarray(0, 8).equals(EWF_SIGNATURE)) throw new CorruptError('not an EWF segment file (bad signature)', { device });
  return buf.readUInt16LE(9);
}

export interface Section {
  type: string;
  /** Offset of the section descriptor in its segment file. */
  offset: number;
  next: number;
  /** Bytes of the section, descriptor included (0 in "next" and "done" as EnCase writes them). */
  size: number;
}

/** A 76-byte section descriptor at `offset`, its Adler-32 checked. */
export function decodeSection(buf: Buffer, offset: number, device: string): Section {
  const where = { device, physical: BigInt(offset) };
  const stored = buf.readUInt32LE(72);
  const actual = adler32(buf.subarray(0, 72));
  if (stored !== actual) throw new CorruptError(`EWF section descriptor checksum mismatch, have ${hex(actual)} expect ${hex(stored)}`, where);
  const type = buf.toString('latin1', 0, 16).replace(/\0.*$/s, '');
  const d = sectionDescriptor.decode(buf, 16);
  const next = safeNumber(d.next);
  const size = safeNumber(d.size);
  if (next === undefined || size === undefined) throw new CorruptError(`EWF section "${type}": next offset or size past 2^53`, where);
  return { type, offset, next, size };
}

export interface Volume {
  chunkCount: number;
  sectorsPerChunk: number;
  bytesPerSector: number;
  sectorCount: number;
}

/** The volume (or disk, or data) section's body: the EnCase layout, or the older 94-byte one. */
export function decodeVolume(body: Buffer, device: string, offset: number): Volume {
  const where = { device, physical: BigInt(offset) };
  if (body.length < 94) throw new CorruptError(`EWF volume section of ${body.length} bytes is too short`, where);
  const v = volume.decode(body, 0);
  // The 94-byte layout of the original specification has a 32-bit sector count.
  const sectors = body.length >= 1052 ? safeNumber(v.sector_count) : body.readUInt32LE(16);
  if (sectors === undefined) throw new CorruptError(`EWF volume: sector count ${v.sector_count} past 2^53`, where);
  const sizeAt = body.length >= 1052 ? 1048 : 90;
  const stored = body.readUInt32LE(sizeAt);
  const actual = adler32(body.subarray(0, sizeAt));
  // Some writers leave the volume checksum 0 (libyal notes Logicube devices); anything else must match.
  if (stored !== 0 && stored !== actual) throw new CorruptError(`EWF volume section checksum mismatch, have ${hex(actual)} expect ${hex(stored)}`, where);
  if (![512, 1024, 2048, 4096].includes(v.bytes_per_sector)) throw new CorruptError(`EWF volume: ${v.bytes_per_sector} bytes per sector`, where);
  if (v.sectors_per_chunk < 1 || v.sectors_per_chunk > 32768) throw new CorruptError(`EWF volume: ${v.sectors_per_chunk} sectors per chunk (1 to 32768)`, where);
  const chunkSize = v.sectors_per_chunk * v.bytes_per_sector;
  const media = sectors * v.bytes_per_sector;
  if (!Number.isSafeInteger(media)) throw new CorruptError(`EWF volume: media of ${sectors} sectors is past 2^53 bytes`, where);
  const chunks = Math.ceil(media / chunkSize);
  if (v.chunk_count !== chunks) throw new CorruptError(`EWF volume: ${v.chunk_count} chunks, but ${sectors} sectors of ${v.bytes_per_sector} bytes make ${chunks}`, where);
  return { chunkCount: v.chunk_count, sectorsPerChunk: v.sectors_per_chunk, bytesPerSector: v.bytes_per_sector, sectorCount: sectors };
}

export interface TableHeader {
  count: number;
  base: number;
}

/** A table (or table2) header, its Adler-32 checked. */
export function decodeTableHeader(buf: Buffer, device: string, offset: number): TableHeader {
  const h = tableHeader.decode(buf, 0);
  const actual = adler32(buf.subarray(0, 20));
  if (h.checksum !== actual) throw new CorruptError(`EWF table header checksum mismatch, have ${hex(actual)} expect ${hex(h.checksum)}`, { device, physical: BigInt(offset) });
  const base = safeNumber(h.base);
  if (base === undefined) throw new CorruptError(`EWF table base offset ${h.base} past 2^53`, { device, physical: BigInt(offset) });
  return { count: h.count, base };
}

export interface StoredHashes {
  md5?: string;
  sha1?: string;
}

/** MD5 (and SHA1) from a "digest" section body (MD5, SHA1, padding, Adler-32) or a "hash" one (MD5, 16 bytes, Adler-32). */
export function decodeHashSection(type: 'digest' | 'hash', body: Buffer, device: string, offset: number): StoredHashes {
  const length = type === 'digest' ? 80 : 36;
  if (body.length < length) throw new CorruptError(`EWF ${type} section of ${body.length} bytes is too short`, { device, physical: BigInt(offset) });
  const stored = body.readUInt32LE(length - 4);
  const actual = adler32(body.subarray(0, length - 4));
  if (stored !== actual) throw new CorruptError(`EWF ${type} section checksum mismatch, have ${hex(actual)} expect ${hex(stored)}`, { device, physical: BigInt(offset) });
  const nonZero = (b: Buffer) => (b.some((x) => x !== 0) ? b.toString('hex') : undefined);
  const out: StoredHashes = {};
  const md5 = nonZero(body.subarray(0, 16));
  if (md5) out.md5 = md5;
  if (type === 'digest') {
    const sha1 = nonZero(body.subarray(16, 36));
    if (sha1) out.sha1 = sha1;
  }
  return out;
}

export function hex(n: number): string {
  return n.toString(16).padStart(8, '0');
}
