// The volume: logical addresses to bytes. Splits a read at stripe-unit boundaries, picks the device
// of the requested copy, and names what is missing when a device is not there.

import { CorruptError, IoError, MissingDeviceError } from '../errors.js';
import type { Device } from '../io/devices.js';
import { formatUuid } from '../ondisk/uuid.js';
import type { ChunkMap, MappedChunk } from './chunk-map.js';
import { copiesOf, mapOffset, type StripePlace } from './raid.js';

export interface PhysicalPlace {
  devid: bigint;
  device: string | undefined;
  physical: bigint;
}

/** Hard cap on one logical read: larger than any extent a read path asks for at once. */
export const MAX_LOGICAL_READ = 256 * 1024 * 1024;

export class Volume {
  constructor(readonly chunks: ChunkMap, readonly devices: Map<bigint, Device>) {}

  chunkAt(logical: bigint): MappedChunk {
    const chunk = this.chunks.find(logical);
    if (!chunk) throw new CorruptError('logical address is not in any chunk', { logical });
    return chunk;
  }

  /** How many copies the bytes at `logical` have (1 for SINGLE, RAID0, RAID5/6). */
  mirrorCount(logical: bigint): number {
    const chunk = this.chunkAt(logical);
    return copiesOf(chunk.profile, chunk);
  }

  /** Every physical place of the byte at `logical`, mirror 0 first. */
  places(logical: bigint): PhysicalPlace[] {
    const chunk = this.chunkAt(logical);
    return mapOffset(chunk, chunk.profile, logical - chunk.logical).copies.map((c) => this.describe(chunk, c));
  }

  private describe(chunk: MappedChunk, place: StripePlace): PhysicalPlace {
    const devid = chunk.stripes[place.stripe]!.devid;
    return { devid, device: this.devices.get(devid)?.source.name, physical: place.physical };
  }

  /**
   * Read `length` bytes at `logical` from copy `mirror` (0-based; taken modulo the copies available).
   * The range may span stripe units but must stay inside one chunk.
   */
  async read(logical: bigint, length: number, mirror = 0): Promise<Buffer> {
    if (length < 0 || length > MAX_LOGICAL_READ) throw new IoError(`logical read of ${length} bytes is out of bounds`, { logical });
    const chunk = this.chunkAt(logical);
    if (logical + BigInt(length) > chunk.logical + chunk.length) {
      throw new CorruptError(`range of ${length} bytes runs past the end of its chunk [${chunk.logical}, ${chunk.logical + chunk.length})`, { logical });
    }
    const out = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const at = logical + BigInt(done);
      const unit = mapOffset(chunk, chunk.profile, at - chunk.logical);
      const copy = unit.copies[mirror % unit.copies.length]!;
      const n = Math.min(length - done, Number(unit.unitRemaining));
      const piece = await this.readPhysical(chunk, copy, n, at, mirror);
      piece.copy(out, done);
      done += n;
    }
    return out;
  }

  private async readPhysical(chunk: MappedChunk, place: StripePlace, length: number, logical: bigint, mirror: number): Promise<Buffer> {
    const stripe = chunk.stripes[place.stripe]!;
    const device = this.devices.get(stripe.devid);
    if (!device) {
      throw new MissingDeviceError(`device devid ${stripe.devid} uuid ${formatUuid(stripe.dev_uuid)} is missing`, { logical, mirror });
    }
    if (place.physical + BigInt(length) > BigInt(device.source.size)) {
      throw new IoError(`physical range [${place.physical}, +${length}) is past the end of the device (${device.source.size} bytes): image truncated?`, {
        device: device.source.name, devid: stripe.devid, physical: place.physical, logical, mirror,
      });
    }
    return device.source.read(Number(place.physical), length);
  }
}
