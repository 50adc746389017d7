// Reading tree blocks: every copy is tried until one passes the checksum, the header checks against
// what the parent promised (bytenr, fsid, level, generation, first key) and the tree-checker.
// Verified blocks are kept in an LRU so a hot path never re-reads or re-verifies them.

import type { Checksummer } from '../checksum/index.js';
import { BtrfsError, ChecksumError, CorruptError, type Location } from '../errors.js';
import { CSUM_SIZE } from '../ondisk/constants.js';
import { checkTreeBlock } from '../ondisk/check.js';
import { compareKeys, formatKey, type Key } from '../ondisk/key.js';
import { parseTreeBlock, type TreeBlock } from '../ondisk/node.js';
import { formatUuid } from '../ondisk/uuid.js';
import type { Volume } from '../volume/volume.js';

export interface BlockExpectation {
  /** Tree id, for messages and the owner check of tree roots. */
  tree?: bigint | undefined;
  level?: number | undefined;
  generation?: bigint | undefined;
  firstKey?: Key | undefined;
}

export interface BlockReaderOptions {
  /** Bytes of verified tree blocks to keep (default 64 MiB). */
  cacheBytes?: number;
}

export interface BlockReaderStats {
  reads: number;
  cacheHits: number;
  badCopies: number;
}

export class BlockReader {
  private readonly cache = new Map<bigint, TreeBlock>();
  private readonly inflight = new Map<bigint, Promise<TreeBlock>>();
  private readonly maxBlocks: number;
  readonly stats: BlockReaderStats = { reads: 0, cacheHits: 0, badCopies: 0 };
  /** Copies that failed and why, for `check` and for --ignore-errors reports. */
  readonly problems: BtrfsError[] = [];

  constructor(
    private readonly volume: Volume,
    private readonly checksummer: Checksummer,
    private readonly fsid: Buffer,
    private readonly nodesize: number,
    private readonly sectorsize: number,
    options: BlockReaderOptions = {},
  ) {
    this.maxBlocks = Math.max(16, Math.floor((options.cacheBytes ?? 32 * 1024 * 1024) / nodesize));
  }

  async read(bytenr: bigint, expect: BlockExpectation = {}): Promise<TreeBlock> {
    let block = this.cache.get(bytenr);
    if (block) {
      this.stats.cacheHits++;
      this.cache.delete(bytenr);
      this.cache.set(bytenr, block);
    } else {
      let pending = this.inflight.get(bytenr);
      if (!pending) {
        pending = this.readVerified(bytenr, expect).finally(() => this.inflight.delete(bytenr));
        this.inflight.set(bytenr, pending);
      }
      block = await pending;
    }
    // Parent-promised facts are checked on every use: the same block may be reached from elsewhere.
    const mismatch = this.expectationMismatch(block, expect);
    if (mismatch) throw new CorruptError(mismatch, this.loc(bytenr, expect));
    return block;
  }

  private loc(bytenr: bigint, expect: BlockExpectation, mirror?: number): Location {
    const loc: Location = { block: bytenr, logical: bytenr };
    if (expect.tree !== undefined) loc.tree = expect.tree;
    if (mirror !== undefined) loc.mirror = mirror;
    return loc;
  }

  private expectationMismatch(block: TreeBlock, expect: BlockExpectation): string | undefined {
    const h = block.header;
    if (expect.level !== undefined && h.level !== expect.level) return `tree block level mismatch, have ${h.level} expect ${expect.level}`;
    if (expect.generation !== undefined && h.generation !== expect.generation) {
      return `parent transid verify failed, have ${h.generation} expect ${expect.generation}`;
    }
    if (expect.firstKey) {
      const first = h.level === 0 ? block.items[0]?.key : block.ptrs[0]?.key;
      if (!first) return `tree block is empty but its parent expects first key ${formatKey(expect.firstKey)}`;
      if (compareKeys(first, expect.firstKey) !== 0) return `tree first key mismatch, have ${formatKey(first)} expect ${formatKey(expect.firstKey)}`;
    }
    return undefined;
  }

  private async readVerified(bytenr: bigint, expect: BlockExpectation): Promise<TreeBlock> {
    if (bytenr % BigInt(this.sectorsize) !== 0n) throw new CorruptError(`tree block ${bytenr} is not aligned to sectorsize`, this.loc(bytenr, expect));
    const copies = this.volume.mirrorCount(bytenr);
    let firstError: BtrfsError | undefined;
    for (let mirror = 0; mirror < copies; mirror++) {
      try {
        this.stats.reads++;
        const buf = await this.volume.read(bytenr, this.nodesize, mirror);
        const block = this.verify(buf, bytenr, expect, mirror);
        this.insert(bytenr, block);
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

  private verify(buf: Buffer, bytenr: bigint, expect: BlockExpectation, mirror: number): TreeBlock {
    const loc = this.loc(bytenr, expect, mirror);
    const c = this.checksummer;
    if (!c.matches(buf.subarray(CSUM_SIZE), buf, 0)) {
      const actual = Buffer.from(c.digest(buf.subarray(CSUM_SIZE))).toString('hex');
      throw new ChecksumError('tree block', buf.subarray(0, c.size).toString('hex'), actual, loc);
    }
    const block = parseTreeBlock(buf);
    const h = block.header;
    if (h.bytenr !== bytenr) throw new CorruptError(`tree block bytenr mismatch, have ${h.bytenr} expect ${bytenr}`, loc);
    if (!h.fsid.equals(this.fsid)) throw new CorruptError(`tree block fsid mismatch, have ${formatUuid(h.fsid)} expect ${formatUuid(this.fsid)}`, loc);
    const mismatch = this.expectationMismatch(block, expect);
    if (mismatch) throw new CorruptError(mismatch, loc);
    checkTreeBlock(block, { nodesize: this.nodesize, sectorsize: this.sectorsize, csumSize: c.size, tree: expect.tree ?? h.owner });
    return block;
  }

  private insert(bytenr: bigint, block: TreeBlock): void {
    this.cache.set(bytenr, block);
    while (this.cache.size > this.maxBlocks) {
      const oldest = this.cache.keys().next().value as bigint;
      this.cache.delete(oldest);
    }
  }
}
