// The VHDX metadata log, replayed in memory: an image closed uncleanly (the header's log GUID is set)
// has updates to its BAT or metadata that exist only in the log. Hyper-V and qemu replay them into
// the file before reading; we read the file through an overlay of the replayed sectors and never
// write it. Layout from Microsoft's VHDX specification (log entry header, data and zero descriptors,
// data sectors); entries are checked by CRC-32C, log GUID and sequence number.

import { crc32cOf } from '../checksum/crc32c.js';
import { CorruptError, IoError, UnsupportedError } from '../errors.js';
import { le32, le64, struct, bytes } from '../ondisk/struct.js';
import { safeNumber } from './fields.js';
import { checkRange, type ImageSource } from './source.js';

const SECTOR = 4096;
/** Hyper-V and qemu write 1 MiB logs; a log this much larger is refused rather than held in memory. */
const MAX_LOG = 64 * 1024 * 1024;
const entryHeader = struct('vhdx_log_entry', {
  signature: bytes(4), checksum: le32, entry_length: le32, tail: le32, sequence_number: le64, descriptor_count: le32, reserved: le32,
  log_guid: bytes(16), flushed_file_offset: le64, last_file_offset: le64,
});
const descriptor = struct('vhdx_log_descriptor', { signature: bytes(4), trailing_or_reserved: le32, leading_or_length: le64, file_offset: le64, sequence_number: le64 });

interface Entry {
  at: number;
  length: number;
  tail: number;
  sequence: bigint;
  flushed: bigint;
  last: bigint;
}

/** The log's bytes from `at` for `length`, wrapping at its end (a circular buffer). */
function slice(log: Buffer, at: number, length: number): Buffer {
  if (at + length <= log.length) return log.subarray(at, at + length);
  return Buffer.concat([log.subarray(at), log.subarray(0, length - (log.length - at))]);
}

/** The entry at `at` if it is whole and valid for this log GUID. */
function entryAt(log: Buffer, at: number, guid: Buffer): Entry | undefined {
  const h = entryHeader.decode(log, at);
  if (h.signature.toString('latin1') !== 'loge' || !h.log_guid.equals(guid)) return undefined;
  if (h.entry_length < SECTOR || h.entry_length % SECTOR !== 0 || h.entry_length > log.length || h.sequence_number === 0n) return undefined;
  if (h.descriptor_count * 32 + 64 > h.entry_length || h.tail % SECTOR !== 0 || h.tail >= log.length) return undefined;
  const whole = Buffer.from(slice(log, at, h.entry_length));
  whole.writeUInt32LE(0, 4);
  if ((crc32cOf(whole) >>> 0) !== h.checksum) return undefined;
  return { at, length: h.entry_length, tail: h.tail, sequence: h.sequence_number, flushed: h.flushed_file_offset, last: h.last_file_offset };
}

/** What replaying the entries does: whole 4 KiB sectors written, ranges zeroed, in log order. */
export interface Replay {
  pages: Map<number, Buffer>;
  zeros: Array<[number, number]>;
  /** The file's size after replay (entries may extend it). */
  size: number;
}

/** Replay `log` (the log region's bytes) for `guid` over a file of `fileSize` bytes. */
export function replayLog(log: Buffer, guid: Buffer, fileSize: number, device: string): Replay {
  const entries = new Map<number, Entry>();
  for (let at = 0; at + 64 <= log.length; at += SECTOR) {
    const e = entryAt(log, at, guid);
    if (e) entries.set(at, e);
  }
  // The active sequence: consecutive sequence numbers, each entry right after the previous one,
  // ending at the highest sequence number; it starts where its last entry's tail says.
  let best: Entry[] = [];
  for (const start of entries.values()) {
    const run = [start];
    for (let next = entries.get((start.at + start.length) % log.length); next && next.sequence === run[run.length - 1]!.sequence + 1n && run.length <= entries.size; next = entries.get((next.at + next.length) % log.length)) run.push(next);
    const last = run[run.length - 1]!;
    if (!best.length || last.sequence > best[best.length - 1]!.sequence) best = run;
  }
  if (!best.length) throw new CorruptError('VHDX log is active (header log GUID set) but holds no valid entry', { device });
  const last = best[best.length - 1]!;
  const from = best.findIndex((e) => e.at === last.tail);
  const active = from >= 0 ? best.slice(from) : best;
  const out: Replay = { pages: new Map(), zeros: [], size: fileSize };
  for (const e of active) {
    if (e.flushed > BigInt(fileSize)) throw new IoError(`VHDX log entry ${e.sequence} expects the file to be at least ${e.flushed} bytes, it has ${fileSize}: truncated?`, { device });
    const body = slice(log, e.at, e.length);
    const count = body.readUInt32LE(24);
    const descSectors = Math.ceil((count * 32 + 64) / SECTOR);
    let data = descSectors;
    for (let i = 0; i < count; i++) {
      const d = descriptor.decode(body, 64 + i * 32);
      const kind = d.signature.toString('latin1');
      const target = safeNumber(d.file_offset);
      if (d.sequence_number !== e.sequence || target === undefined || target % SECTOR !== 0) throw new CorruptError(`VHDX log entry ${e.sequence} descriptor ${i} is not valid`, { device });
      if (kind === 'zero') {
        const length = safeNumber(d.leading_or_length);
        if (length === undefined || length % SECTOR !== 0) throw new CorruptError(`VHDX log entry ${e.sequence} zero descriptor ${i}: length ${d.leading_or_length}`, { device });
        out.zeros.push([target, target + length]);
        for (const p of [...out.pages.keys()]) if (p * SECTOR >= target && p * SECTOR < target + length) out.pages.delete(p);
      } else if (kind === 'desc') {
        if ((data + 1) * SECTOR > e.length) throw new CorruptError(`VHDX log entry ${e.sequence}: descriptor ${i} has no data sector`, { device });
        const sector = body.subarray(data * SECTOR, (data + 1) * SECTOR);
        const seq = (BigInt(sector.readUInt32LE(4)) << 32n) | BigInt(sector.readUInt32LE(4092));
        if (sector.toString('latin1', 0, 4) !== 'data' || seq !== e.sequence) throw new CorruptError(`VHDX log entry ${e.sequence}: data sector ${data} does not belong to it`, { device });
        const page = Buffer.alloc(SECTOR);
        page.writeBigUInt64LE(d.leading_or_length, 0);
        sector.copy(page, 8, 8, 4092);
        page.writeUInt32LE(d.trailing_or_reserved, 4092);
        out.pages.set(target / SECTOR, page);
        data++;
      } else throw new CorruptError(`VHDX log entry ${e.sequence} descriptor ${i}: unknown signature "${kind}"`, { device });
    }
    const grown = safeNumber(e.last);
    if (grown !== undefined && grown > out.size) out.size = grown;
  }
  return out;
}

/** Read the log region of `file` and check its bounds. */
export async function readLog(file: ImageSource, offset: bigint, length: number): Promise<Buffer> {
  const at = safeNumber(offset);
  if (length > MAX_LOG) throw new UnsupportedError(`VHDX log of ${length} bytes (up to ${MAX_LOG} are replayed)`, { device: file.name });
  if (at === undefined || length % (1024 * 1024) !== 0 || at + length > file.size) throw new CorruptError(`VHDX log at ${offset} (${length} bytes) is not whole MiBs inside the file`, { device: file.name });
  return file.read(at, length);
}

/** The file as it reads after the replay: replayed sectors over it, zeros past its end. */
export class ReplayedSource implements ImageSource {
  readonly size: number;
  readonly name: string;
  constructor(private readonly base: ImageSource, private readonly replay: Replay) {
    this.size = replay.size;
    this.name = base.name;
  }
  async read(position: number, length: number, into?: Buffer): Promise<Buffer> {
    checkRange(this, position, length);
    const out = into ?? Buffer.allocUnsafe(length);
    const have = Math.max(0, Math.min(length, this.base.size - position));
    if (have > 0) await this.base.read(position, have, out.subarray(0, have));
    out.fill(0, have, length);
    for (const [from, to] of this.replay.zeros) {
      const a = Math.max(from, position);
      const b = Math.min(to, position + length);
      if (a < b) out.fill(0, a - position, b - position);
    }
    for (let p = Math.floor(position / SECTOR); p * SECTOR < position + length; p++) {
      const page = this.replay.pages.get(p);
      if (!page) continue;
      const a = Math.max(p * SECTOR, position);
      const b = Math.min((p + 1) * SECTOR, position + length);
      page.copy(out, a - position, a - p * SECTOR, b - p * SECTOR);
    }
    return out;
  }
  async close(): Promise<void> {
    await this.base.close();
  }
}
