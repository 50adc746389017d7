// The bytes of logical extents, verified and decompressed: the one layer every reader of file data
// goes through (the reader behind cat and extract, the scrub-like salvager, the emulator's model of
// the kernel). A read checks every sector against the csum tree and, for a sector that fails, tries
// the other copies (mirrors, parity) before giving up; a compressed extent is read whole (its
// checksums cover the compressed bytes) and decompressed once per call. What it did is counted in
// the caller's counters, under the emulator's names.

import { BtrfsError, ChecksumError, CorruptError, type Location } from '../errors.js';
import type { RegularExtent, InlineExtent } from '../ondisk/items/file-extent.js';
import type { CsumTree } from '../fs/csum-tree.js';
import type { Volume } from '../volume/volume.js';

/**
 * Decompress `input` to exactly `outputLength` bytes. Regular extents zero-fill a short stream;
 * inline extents (`inline`) must decompress fully, as in the kernel. A regular extent is decoded
 * into `into` when given (its start is returned).
 */
export type DecompressFn = (type: number, input: Buffer, outputLength: number, inline: boolean, into?: Uint8Array) => Buffer;

export interface DataContext {
  volume: Volume;
  csums: CsumTree;
  sectorsize: number;
  checksummer: { size: number; matches(data: Uint8Array, stored: Uint8Array, storedOffset?: number): boolean; digest(data: Uint8Array): Uint8Array };
  decompress: DecompressFn;
  /** Load the codec for a compression type before its first use (codecs load on demand). */
  prepareDecompress?: (type: number) => Promise<void>;
}

/** The work a data read does, as the emulator's report names it. */
export interface ExtentCounters {
  /** Read requests issued to the devices (one per contiguous logical range and copy), and their bytes. */
  disk_reads: number;
  disk_bytes: number;
  /** Data sectors whose checksum was computed and compared. */
  csum_sectors_verified: number;
  /** Compressed extents decompressed, bytes in and out. */
  decompressions: number;
  decompressed_bytes_in: number;
  decompressed_bytes_out: number;
}

/** Whose data is read, for error messages: the file and the file offset of the first byte. */
export interface DataOwner {
  path: string;
  fileOffset: bigint;
  /** No checksums to verify (the inode has NODATASUM). */
  nodatasum: boolean;
}

export class DataExtents {
  readonly sectorsize: number;

  constructor(readonly ctx: DataContext, readonly counters: ExtentCounters) {
    this.sectorsize = ctx.sectorsize;
  }

  /**
   * `length` bytes (whole sectors) at `logical`, each sector verified against the csum tree. A sector
   * that fails is re-read from the other copies; only when every copy fails is it an error. With
   * `into`, the bytes land there.
   */
  async readVerified(logical: bigint, length: number, owner: DataOwner, into?: Buffer): Promise<Buffer> {
    return this.verifiedRead(logical, length, owner, true, into);
  }

  /** `perSector`: sector i is at owner.fileOffset + i * sectorsize in the file (uncompressed data). */
  private async verifiedRead(logical: bigint, length: number, owner: DataOwner, perSector: boolean, into?: Buffer): Promise<Buffer> {
    const { volume, csums, checksummer } = this.ctx;
    const S = this.sectorsize;
    const sectors = length / S;
    const copies = volume.mirrorCount(logical);
    const where = (mirror?: number, at = 0): Location => {
      const loc: Location = { path: owner.path, fileOffset: perSector ? owner.fileOffset + BigInt(at * S) : owner.fileOffset, logical: logical + BigInt(at * S) };
      if (mirror !== undefined) loc.mirror = mirror;
      return loc;
    };
    const sums = owner.nodatasum ? undefined : await csums.lookup(logical, sectors);
    if (sums) {
      const missing = sums.present.indexOf(0);
      if (missing >= 0) throw new CorruptError('no data checksum for a sector of a checksummed file', where(undefined, missing));
    }
    let buf: Buffer | undefined;
    let firstMirror = 0;
    let readError: BtrfsError | undefined;
    for (; firstMirror < copies; firstMirror++) {
      try {
        buf = await this.diskRead(logical, length, firstMirror, into);
        break;
      } catch (e) {
        if (!(e instanceof BtrfsError)) throw e;
        readError ??= e;
        volume.noteBadCopy(e);
      }
    }
    if (!buf) throw readError!;
    if (firstMirror > 0) volume.readAroundCount++;
    if (!sums) return buf;
    for (let i = 0; i < sectors; i++) {
      // A plain view: Buffer#subarray per sector costs more than checksumming it with crc32c.
      const sector = new Uint8Array(buf.buffer, buf.byteOffset + i * S, S);
      this.counters.csum_sectors_verified++;
      if (checksummer.matches(sector, sums.sums, i * checksummer.size)) continue;
      const expected = sums.sums.subarray(i * checksummer.size, (i + 1) * checksummer.size).toString('hex');
      const actual = Buffer.from(checksummer.digest(sector)).toString('hex');
      volume.noteBadCopy(new ChecksumError('data', expected, actual, where(firstMirror, i)));
      let repaired = false;
      for (let mirror = 0; mirror < copies && !repaired; mirror++) {
        if (mirror === firstMirror) continue;
        const at = logical + BigInt(i * S);
        let copy: Buffer;
        try {
          copy = await this.diskRead(at, S, mirror);
        } catch (e) {
          if (!(e instanceof BtrfsError)) throw e;
          volume.noteBadCopy(e);
          continue;
        }
        this.counters.csum_sectors_verified++;
        if (checksummer.matches(copy, sums.sums, i * checksummer.size)) {
          copy.copy(buf, i * S);
          repaired = true;
          volume.readAroundCount++;
        } else {
          volume.noteBadCopy(new ChecksumError('data', expected, Buffer.from(checksummer.digest(copy)).toString('hex'), where(mirror, i)));
        }
      }
      if (!repaired) throw new ChecksumError('data', expected, actual, where(firstMirror, i));
    }
    return buf;
  }

  /**
   * The whole decompressed bytes of a compressed extent (ram_bytes of them), read and verified on
   * disk first. Errors name `owner.fileOffset` (where the owner's file extent item starts): the
   * compressed sectors have no file offsets of their own.
   */
  async readDecompressed(extent: RegularExtent, owner: DataOwner, into?: Uint8Array): Promise<Buffer> {
    const stored = await this.readStored(extent, owner);
    await this.prepare(extent.compression);
    return this.decompressLoaded(extent.compression, stored, Number(extent.ramBytes), owner, extent.diskBytenr, into);
  }

  /** A compressed extent's on-disk bytes, verified (errors name owner.fileOffset, as above). */
  readStored(extent: RegularExtent, owner: DataOwner, into?: Buffer): Promise<Buffer> {
    return this.verifiedRead(extent.diskBytenr, Number(extent.diskNumBytes), owner, false, into);
  }

  /** Load the codec of a compression type (once); after this, decompressLoaded() runs synchronously. */
  async prepare(type: number): Promise<void> {
    await this.ctx.prepareDecompress?.(type);
  }

  /**
   * Decompress a regular extent's verified on-disk bytes, counted, with the owner's location on a bad
   * stream. Synchronous once the codec is loaded, so a caller can own a shared output buffer.
   */
  decompressLoaded(type: number, input: Buffer, outLen: number, owner: DataOwner, logical: bigint, into?: Uint8Array): Buffer {
    this.counters.decompressions++;
    this.counters.decompressed_bytes_in += input.length;
    this.counters.decompressed_bytes_out += outLen;
    return located(() => this.ctx.decompress(type, input, outLen, false, into), { path: owner.path, fileOffset: owner.fileOffset, logical });
  }

  /**
   * An inline extent's file bytes, decompressed when compressed. Not counted here: inline data has no
   * logical address and is never shared, so each caller counts it the way its report names it.
   */
  async inlineBytes(extent: InlineExtent, owner: { path: string; fileOffset: bigint }): Promise<Buffer> {
    if (extent.compression === 0) return extent.data;
    await this.prepare(extent.compression);
    return located(() => this.ctx.decompress(extent.compression, extent.data, Number(extent.ramBytes), true), { path: owner.path, fileOffset: owner.fileOffset });
  }

  private async diskRead(logical: bigint, length: number, mirror: number, into?: Buffer): Promise<Buffer> {
    this.counters.disk_reads++;
    this.counters.disk_bytes += length;
    return this.ctx.volume.read(logical, length, mirror, into);
  }
}

/** A codec's CorruptError, located at the file and extent it was decoding. */
function located<T>(run: () => T, loc: Location): T {
  try {
    return run();
  } catch (e) {
    if (e instanceof BtrfsError) throw new CorruptError(e.message, loc);
    throw e;
  }
}
