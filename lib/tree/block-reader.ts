// Reading tree blocks: every copy is tried until one passes the checksum, the header checks against
// what the parent promised (bytenr, fsid, level, generation, first key) and the tree-checker.
// Verified blocks are kept in an LRU so a hot path never re-reads or re-verifies them.

import { BtrfsError, CorruptError, type Location } from '../errors.js';
import type { TreeBlock } from '../ondisk/node.js';
import { TwoGenerationMap } from '../cache/two-generations.js';
import type { Volume } from '../volume/volume.js';
import { expectationMismatch, verifyTreeBlock, type BlockExpectation, type VerifyContext } from './verify-block.js';

export type { BlockExpectation } from './verify-block.js';

export interface BlockReaderOptions {
  /**
   * Bytes of verified tree blocks to keep (default 8 MiB). A parsed block costs about as much again
   * in decoded keys as its bytes: 32 MiB held some 60 MB, and neither a walk of 200,000 files nor a
   * whole-image extraction read a block fewer with more than 4 MiB.
   */
  cacheBytes?: number;
}

export interface BlockReaderStats {
  reads: number;
  cacheHits: number;
  badCopies: number;
}

/**
 * A Map key for a block address: a number where that is exact (every real one), so lookups hash a
 * small integer rather than a BigInt; a larger (hostile) address keeps its bigint, which no number
 * key can equal.
 */
function cacheKey(bytenr: bigint): number | bigint {
  return bytenr <= MAX_EXACT ? Number(bytenr) : bytenr;
}
const MAX_EXACT = BigInt(Number.MAX_SAFE_INTEGER);

export class BlockReader {
  /** Verified blocks (no work per hit: a reader makes ~10 block lookups per file). */
  private readonly blocks: TwoGenerationMap<number | bigint, TreeBlock>;
  private readonly inflight = new Map<bigint, Promise<TreeBlock>>();
  readonly stats: BlockReaderStats = { reads: 0, cacheHits: 0, badCopies: 0 };
  /** Copies that failed and why, for `check` and for --ignore-errors reports. */
  readonly problems: BtrfsError[] = [];
  /** Blocks read from another copy after one failed: damage worked around. */
  readAround = 0;

  constructor(
    private readonly volume: Volume,
    private readonly ctx: VerifyContext,
    options: BlockReaderOptions = {},
  ) {
    this.blocks = new TwoGenerationMap(Math.max(8, Math.floor((options.cacheBytes ?? 8 * 1024 * 1024) / ctx.nodesize / 2)));
  }

  /**
   * The block if it is cached (checked against `expect` like read()), else undefined: lets a lookup
   * run synchronously while everything it needs is in memory, which is nearly always.
   */
  cached(bytenr: bigint, expect: BlockExpectation = {}): TreeBlock | undefined {
    const block = this.blocks.get(cacheKey(bytenr));
    if (!block) return undefined;
    this.stats.cacheHits++;
    const mismatch = expectationMismatch(block, expect);
    if (mismatch) throw new CorruptError(mismatch, this.loc(bytenr, expect));
    return block;
  }

  async read(bytenr: bigint, expect: BlockExpectation = {}): Promise<TreeBlock> {
    const hit = this.cached(bytenr, expect);
    if (hit) return hit;
    let pending = this.inflight.get(bytenr);
    if (!pending) {
      pending = this.readVerified(bytenr, expect).finally(() => this.inflight.delete(bytenr));
      this.inflight.set(bytenr, pending);
    }
    const block = await pending;
    // Parent-promised facts are checked on every use: the same block may be reached from elsewhere.
    const mismatch = expectationMismatch(block, expect);
    if (mismatch) throw new CorruptError(mismatch, this.loc(bytenr, expect));
    return block;
  }

  private loc(bytenr: bigint, expect: BlockExpectation, mirror?: number): Location {
    const loc: Location = { block: bytenr, logical: bytenr };
    if (expect.tree !== undefined) loc.tree = expect.tree;
    if (mirror !== undefined) loc.mirror = mirror;
    return loc;
  }

  private async readVerified(bytenr: bigint, expect: BlockExpectation): Promise<TreeBlock> {
    if (bytenr % BigInt(this.ctx.sectorsize) !== 0n) throw new CorruptError(`tree block ${bytenr} is not aligned to sectorsize`, this.loc(bytenr, expect));
    const copies = this.volume.mirrorCount(bytenr);
    let firstError: BtrfsError | undefined;
    for (let mirror = 0; mirror < copies; mirror++) {
      try {
        this.stats.reads++;
        const buf = await this.volume.read(bytenr, this.ctx.nodesize, mirror);
        const block = verifyTreeBlock(buf, bytenr, expect, this.ctx, this.loc(bytenr, expect, mirror));
        if (firstError) this.readAround++;
        this.blocks.set(cacheKey(bytenr), block);
        return block;
      } catch (e) {
        if (!(e instanceof BtrfsError)) throw e;
        this.stats.badCopies++;
        this.problems.push(e);
        firstError ??= e;
      }
    }
    throw firstError!;
  }
}
