// The volume: logical addresses to bytes. Splits a read at stripe-unit boundaries, picks the device
// of the requested copy, rebuilds RAID5/6 data stripes from parity, and names what is missing when a
// device is not there.
//
// "Mirrors" are the alternatives a reader can try for the same bytes, in the kernel's sense of
// btrfs_num_copies: the copies of DUP/RAID1/RAID1C3/RAID1C4/RAID10; for RAID5 the data stripe (0) and
// its rebuild from the other data stripes and P (1); for RAID6 the data stripe (0), the rebuild with P
// (1), the rebuild with Q (2, for when P is bad too), and then one mirror per other data stripe that
// is assumed bad as well (rebuilt from P and Q), so two silently damaged stripes of a row still read.

import { BtrfsError, CorruptError, formatLocation, IoError, MissingDeviceError } from '../errors.js';
import type { Device } from '../io/devices.js';
import { formatUuid } from '../ondisk/uuid.js';
import type { ChunkMap, MappedChunk } from './chunk-map.js';
import { copiesOf, mapOffset, parityStripes, raid56Row, type StripePlace } from './raid.js';
import { rebuildData } from './raid56.js';

export interface PhysicalPlace {
  devid: bigint;
  device: string | undefined;
  physical: bigint;
}

/** Hard cap on one logical read: larger than any extent a read path asks for at once. */
export const MAX_LOGICAL_READ = 256 * 1024 * 1024;

/** Bad copies kept for a report; more are counted, not kept. */
const MAX_BAD_COPIES = 1000;

export class Volume {
  /**
   * Copies that readers found bad and read around (a data sector failing its checksum or a read
   * error on one mirror while another served it), each an error located at the copy: for reports.
   */
  readonly badCopies: BtrfsError[] = [];
  badCopyCount = 0;
  /** Reads that succeeded from another copy (or parity) after one failed: damage worked around. */
  readAroundCount = 0;

  constructor(readonly chunks: ChunkMap, readonly devices: Map<bigint, Device>) {}

  noteBadCopy(e: BtrfsError): void {
    this.badCopyCount++;
    if (this.badCopies.length < MAX_BAD_COPIES) this.badCopies.push(e);
  }

  chunkAt(logical: bigint): MappedChunk {
    const chunk = this.chunks.find(logical);
    if (!chunk) throw new CorruptError('logical address is not in any chunk', { logical });
    return chunk;
  }

  /** How many alternatives a reader can try for the bytes at `logical` (see the file comment). */
  mirrorCount(logical: bigint): number {
    const chunk = this.chunkAt(logical);
    if (chunk.profile === 'raid5') return 2;
    if (chunk.profile === 'raid6') return chunk.numStripes;
    return copiesOf(chunk.profile, chunk);
  }

  /** Every physical place of the byte at `logical`, mirror 0 first (RAID5/6: the data stripe only). */
  places(logical: bigint): PhysicalPlace[] {
    const chunk = this.chunkAt(logical);
    return mapOffset(chunk, chunk.profile, logical - chunk.logical).copies.map((c) => this.describe(chunk, c));
  }

  /** Where the stripe `place` of `chunk` lives, for messages and for check. */
  describe(chunk: MappedChunk, place: StripePlace): PhysicalPlace {
    const devid = chunk.stripes[place.stripe]!.devid;
    return { devid, device: this.devices.get(devid)?.source.name, physical: place.physical };
  }

  /** Devices named by chunks but not present (a degraded filesystem). */
  isMissing(devid: bigint): boolean {
    return !this.devices.has(devid);
  }

  /**
   * Read `length` bytes at `logical` from mirror `mirror` (0-based; taken modulo the mirrors there are).
   * The range may span stripe units but must stay inside one chunk. For the copy profiles a unit whose
   * chosen device is missing is served by another copy that is present: a missing device has nothing
   * to compare, and a multi-unit read then still succeeds when each unit has some copy.
   */
  async read(logical: bigint, length: number, mirror = 0, into?: Buffer): Promise<Buffer> {
    return this.readRange(logical, length, mirror, false, into);
  }

  /**
   * Like read(), but exactly the copy asked for: no substitution for missing devices, and for RAID5/6
   * mirror 0 only (the data stripe as stored). For check, which judges every copy on its own.
   */
  async readCopy(logical: bigint, length: number, mirror: number): Promise<Buffer> {
    return this.readRange(logical, length, mirror, true);
  }

  /** With `into`, the bytes land in `into` (device reads go straight there where they can). */
  private async readRange(logical: bigint, length: number, mirror: number, strict: boolean, into?: Buffer): Promise<Buffer> {
    if (!Number.isSafeInteger(length) || length < 0 || length > MAX_LOGICAL_READ) {
      throw new IoError(`logical read of ${length} bytes is out of bounds`, { logical });
    }
    if (!Number.isSafeInteger(mirror) || mirror < 0) throw new IoError(`invalid mirror ${mirror}`, { logical });
    const chunk = this.chunkAt(logical);
    if (logical + BigInt(length) > chunk.logical + chunk.length) {
      throw new CorruptError(`range of ${length} bytes runs past the end of its chunk [${chunk.logical}, ${chunk.logical + chunk.length})`, { logical });
    }
    const parity = parityStripes(chunk.profile);
    const mirrors = parity ? this.mirrorCount(logical) : copiesOf(chunk.profile, chunk);
    const m = mirror % mirrors;
    if (strict && parity && m !== 0) throw new IoError(`RAID5/6 mirror ${m} is a rebuild, not a stored copy`, { logical, mirror: m });
    let out: Buffer | undefined = into;
    let done = 0;
    while (done < length) {
      const at = logical + BigInt(done);
      const offset = at - chunk.logical;
      const unit = mapOffset(chunk, chunk.profile, offset);
      const n = Math.min(length - done, Number(unit.unitRemaining));
      const target = out?.subarray(done, done + n);
      let piece: Buffer;
      if (parity && m > 0) piece = await this.rebuildUnit(chunk, offset, n, at, m);
      else if (parity) piece = await this.readPhysical(chunk, unit.copies[0]!, n, at, m, target);
      else if (strict) piece = await this.readPhysical(chunk, unit.copies[m % unit.copies.length]!, n, at, m, target);
      else piece = await this.readMirrored(chunk, unit.copies, m, n, at, target);
      // Most reads fall inside one stripe unit: hand back that piece without a second copy.
      if (!out && done === 0 && n === length) return piece;
      out ??= Buffer.allocUnsafe(length);
      if (piece !== target) piece.copy(out, done);
      done += n;
    }
    return out ?? Buffer.alloc(0);
  }

  private async readMirrored(chunk: MappedChunk, copies: StripePlace[], mirror: number, length: number, logical: bigint, into?: Buffer): Promise<Buffer> {
    const wanted = copies[mirror % copies.length]!;
    if (!this.isMissing(chunk.stripes[wanted.stripe]!.devid)) return this.readPhysical(chunk, wanted, length, logical, mirror, into);
    for (let i = 1; i < copies.length; i++) {
      const other = copies[(mirror + i) % copies.length]!;
      if (!this.isMissing(chunk.stripes[other.stripe]!.devid)) return this.readPhysical(chunk, other, length, logical, mirror, into);
    }
    return this.readPhysical(chunk, wanted, length, logical, mirror); // throws MissingDeviceError
  }

  /**
   * Mirror `m` > 0 of a RAID5/6 unit: rebuild the data stripe from the rest of its row. Mirror 1 assumes
   * only the data stripe bad; 2 assumes P bad too (RAID6); 3.. assume one other data stripe bad too.
   * Stripes that cannot be read join the lost set. If too much is lost to rebuild, the stored data
   * stripe is returned when it can be read, so a read spanning units stays whole in a degraded array.
   */
  private async rebuildUnit(chunk: MappedChunk, offset: bigint, length: number, logical: bigint, m: number): Promise<Buffer> {
    const row = raid56Row(chunk, chunk.profile, offset);
    const k = row.data.length;
    const target = row.dataIndex;
    const assumed = new Set<number>([target]); // indices 0..k-1 data, k = P, k + 1 = Q
    if (m === 2 && row.q) assumed.add(k);
    if (m >= 3) {
      const others = Array.from({ length: k }, (_, i) => i).filter((i) => i !== target);
      const j = others[m - 3];
      if (j !== undefined) assumed.add(j);
    }
    const members: StripePlace[] = [...row.data, row.p, ...(row.q ? [row.q] : [])];
    const got: Array<Buffer | undefined> = new Array(members.length).fill(undefined);
    let firstError: BtrfsError | undefined;
    for (let i = 0; i < members.length; i++) {
      if (assumed.has(i)) continue;
      try {
        got[i] = await this.readPhysical(chunk, members[i]!, length, logical, m);
      } catch (e) {
        if (!(e instanceof BtrfsError)) throw e;
        firstError ??= e;
      }
    }
    const lost = got.reduce((n, g) => n + (g ? 0 : 1), 0);
    if (lost <= parityStripes(chunk.profile)) return rebuildData(got.slice(0, k), got[k], row.q ? got[k + 1] : undefined, target);
    try {
      return await this.readPhysical(chunk, members[target]!, length, logical, m);
    } catch (e) {
      if (!(e instanceof BtrfsError) || !firstError) throw e;
      // Name both: what made the rebuild impossible and why the stored stripe is unreadable.
      const Kind = e instanceof MissingDeviceError ? MissingDeviceError : IoError;
      throw new Kind(`${withoutLocation(e)}, and parity cannot stand in: ${withoutLocation(firstError)}`, { ...e.location, mirror: m });
    }
  }

  private async readPhysical(chunk: MappedChunk, place: StripePlace, length: number, logical: bigint, mirror: number, into?: Buffer): Promise<Buffer> {
    const stripe = chunk.stripes[place.stripe]!;
    const device = this.devices.get(stripe.devid);
    if (!device) {
      throw new MissingDeviceError(`device devid ${stripe.devid} uuid ${formatUuid(stripe.dev_uuid)} is missing`, { devid: stripe.devid, logical, mirror });
    }
    if (place.physical + BigInt(length) > BigInt(device.source.size)) {
      throw new IoError(`physical range [${place.physical}, +${length}) is past the end of the device (${device.source.size} bytes): image truncated?`, {
        device: device.source.name, devid: stripe.devid, physical: place.physical, logical, mirror,
      });
    }
    return device.source.read(Number(place.physical), length, into);
  }
}

/** An error's message without the location BtrfsError appends (to nest it in another message). */
function withoutLocation(e: BtrfsError): string {
  const where = formatLocation(e.location);
  return where && e.message.endsWith(`: ${where}`) ? e.message.slice(0, -where.length - 2) : e.message;
}
