// Every data sector that has a checksum, on every copy: the csum tree's EXTENT_CSUM items drive the
// pass (as the kernel's scrub does, sectors without a sum, NODATASUM files, cannot be judged). Runs of
// bad sectors on one copy become one problem; it is repairable when another copy, or a rebuild from
// parity, has good bytes for each of its sectors.

import { BtrfsError, CorruptError } from '../errors.js';
import type { Filesystem } from '../fs/filesystem.js';
import { KeyType, ObjectId } from '../ondisk/constants.js';
import { itemData } from '../ondisk/node.js';
import { copiesOf, parityStripes } from '../volume/raid.js';
import { problemFrom, type CheckProblem, type ProblemLog } from './problem.js';

/** Sectors verified per read: bounded memory whatever a csum item claims. */
const SECTORS_PER_READ = 256;

export class DataChecker {
  private readonly S: number;
  /** Data problems found, for owner resolution afterwards. */
  readonly found: CheckProblem[] = [];

  constructor(private readonly fs: Filesystem, private readonly log: ProblemLog) {
    this.S = fs.sectorsize;
  }

  async run(csumLeaves: bigint[]): Promise<void> {
    const size = this.fs.checksummer.size;
    for (const bytenr of csumLeaves) {
      let block;
      try {
        block = await this.fs.blocks.read(bytenr, { tree: ObjectId.CSUM_TREE });
      } catch (e) {
        if (!(e instanceof BtrfsError)) throw e;
        continue; // reported by the metadata pass
      }
      for (let slot = 0; slot < block.items.length; slot++) {
        const k = block.items[slot]!.key;
        if (k.type !== KeyType.EXTENT_CSUM || k.objectid !== ObjectId.EXTENT_CSUM) continue;
        const sums = Buffer.from(itemData(block, slot));
        await this.verifyRun(k.offset, sums, Math.floor(sums.length / size));
      }
    }
  }

  /** `count` sectors from `logical`, their sums back to back in `sums`. */
  private async verifyRun(logical: bigint, sums: Buffer, count: number): Promise<void> {
    const S = BigInt(this.S);
    let i = 0;
    while (i < count) {
      const at = logical + BigInt(i) * S;
      let chunk;
      try {
        chunk = this.fs.volume.chunkAt(at);
      } catch (e) {
        if (!(e instanceof BtrfsError)) throw e;
        this.log.add(problemFrom('data', new CorruptError('checksummed sector is not in any chunk', { logical: at }), { length: BigInt(count - i) * S, tree: ObjectId.CSUM_TREE }));
        return;
      }
      const inChunk = Number((chunk.logical + chunk.length - at) / S);
      // Striped profiles: one stripe unit at a time, so each read has one device per copy (a missing
      // member then costs only its own units, which RAID5/6 rebuilds and RAID10 finds on the mirror).
      const striped = chunk.profile === 'raid0' || chunk.profile === 'raid10' || parityStripes(chunk.profile) > 0;
      const inUnit = striped ? Number((chunk.stripeLen - ((at - chunk.logical) % chunk.stripeLen)) / S) : Infinity;
      const n = Math.min(count - i, SECTORS_PER_READ, inChunk, inUnit);
      await this.verifyPiece(at, n, sums.subarray(i * this.fs.checksummer.size));
      i += n;
    }
  }

  private async verifyPiece(logical: bigint, sectors: number, sums: Buffer): Promise<void> {
    const { volume, checksummer } = this.fs;
    const S = this.S;
    const chunk = volume.chunkAt(logical);
    const raid56 = parityStripes(chunk.profile) > 0;
    const copies = raid56 ? 1 : copiesOf(chunk.profile, chunk);
    const places = volume.places(logical);
    this.log.stats.dataSectors += sectors;
    this.log.progressed();
    const ok = (buf: Buffer | undefined, i: number) => buf !== undefined && checksummer.matches(buf.subarray(i * S, (i + 1) * S), sums, i * checksummer.size);
    const bufs: Array<Buffer | undefined> = [];
    const errors: unknown[] = [];
    for (let m = 0; m < copies; m++) {
      bufs.push(undefined);
      errors.push(undefined);
      if (volume.isMissing(places[m]!.devid)) {
        this.log.stats.skippedCopies += sectors;
        continue;
      }
      try {
        bufs[m] = await volume.readCopy(logical, sectors * S, m);
        this.log.stats.dataSectorCopies += sectors;
      } catch (e) {
        if (!(e instanceof BtrfsError)) throw e;
        errors[m] = e;
      }
    }
    // RAID5/6: what the stored stripe cannot give is judged by the rebuilds a reader would use.
    const rebuilt = new Map<number, Buffer | null>();
    const rebuildOk = async (i: number): Promise<boolean> => {
      if (!raid56) return false;
      for (let m = 1; m < volume.mirrorCount(logical); m++) {
        if (!rebuilt.has(m)) {
          try {
            rebuilt.set(m, await volume.read(logical, sectors * S, m));
          } catch (e) {
            if (!(e instanceof BtrfsError)) throw e;
            rebuilt.set(m, null);
          }
        }
        if (ok(rebuilt.get(m) ?? undefined, i)) return true;
      }
      return false;
    };
    const repairable = async (m: number, from: number, to: number): Promise<boolean> => {
      for (let i = from; i < to; i++) {
        if (!bufs.some((b, j) => j !== m && ok(b, i)) && !(await rebuildOk(i))) return false;
      }
      return true;
    };
    for (let m = 0; m < copies; m++) {
      const buf = bufs[m];
      if (errors[m] !== undefined) {
        this.add({ ...problemFrom('data', errors[m], this.where(logical, m)), length: BigInt(sectors * S), repairable: await repairable(m, 0, sectors) });
        continue;
      }
      if (!buf) {
        if (!raid56) continue;
        // The data stripe's device is missing: every sector must come back from parity.
        for (let i = 0; i < sectors; i++) {
          if (await rebuildOk(i)) continue;
          this.add({ kind: 'data', code: 'EBTRFSCSUM', message: 'sector on a missing device cannot be rebuilt from parity', ...this.where(logical + BigInt(i * S), m), length: BigInt(S), repairable: false });
        }
        continue;
      }
      let runStart = -1;
      const flush = async (end: number) => {
        if (runStart < 0) return;
        const expect = sums.subarray(runStart * checksummer.size, (runStart + 1) * checksummer.size).toString('hex');
        const have = Buffer.from(checksummer.digest(buf.subarray(runStart * S, (runStart + 1) * S))).toString('hex');
        const n = end - runStart;
        this.add({
          kind: 'data', code: 'EBTRFSCSUM', ...this.where(logical + BigInt(runStart * S), m), length: BigInt(n * S),
          repairable: await repairable(m, runStart, end),
          message: `data checksum mismatch on ${n} sector(s), first have ${have} expect ${expect}`,
        });
        runStart = -1;
      };
      for (let i = 0; i < sectors; i++) {
        if (ok(buf, i)) await flush(i);
        else if (runStart < 0) runStart = i;
      }
      await flush(sectors);
    }
  }

  private where(logical: bigint, mirror: number): Partial<CheckProblem> {
    const place = this.fs.volume.places(logical)[mirror]!;
    return { device: place.device, devid: place.devid, physical: place.physical, logical, mirror };
  }

  private add(p: CheckProblem): void {
    this.found.push(this.log.add(p));
  }
}
