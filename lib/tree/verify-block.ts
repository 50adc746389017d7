// Verifying one copy of a tree block: checksum, then the header against what the superblock and the
// parent pointer promise (bytenr, fsid, level, generation, first key), then the tree-checker. Shared
// by the block reader (which tries the next copy on failure) and check (which judges every copy).

import type { Checksummer } from '../checksum/index.js';
import { ChecksumError, CorruptError, type Location } from '../errors.js';
import { checkTreeBlock, type CheckContext } from '../ondisk/check.js';
import { CSUM_SIZE } from '../ondisk/constants.js';
import { compareKeys, formatKey, type Key } from '../ondisk/key.js';
import { parseTreeBlock, type TreeBlock } from '../ondisk/node.js';
import { formatUuid } from '../ondisk/uuid.js';

export interface BlockExpectation {
  /** Tree id, for messages and the owner check of tree roots. */
  tree?: bigint | undefined;
  level?: number | undefined;
  generation?: bigint | undefined;
  firstKey?: Key | undefined;
}

export interface VerifyContext extends Omit<CheckContext, 'tree'> {
  checksummer: Checksummer;
  /** The fsid tree block headers carry (metadata_uuid when that feature is on). */
  fsid: Buffer;
}

/** What a verified block contradicts in its parent's promise, or undefined. */
export function expectationMismatch(block: TreeBlock, expect: BlockExpectation): string | undefined {
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

export function verifyTreeBlock(buf: Buffer, bytenr: bigint, expect: BlockExpectation, ctx: VerifyContext, loc: Location): TreeBlock {
  const c = ctx.checksummer;
  if (!c.matches(buf.subarray(CSUM_SIZE), buf, 0)) {
    const actual = Buffer.from(c.digest(buf.subarray(CSUM_SIZE))).toString('hex');
    throw new ChecksumError('tree block', buf.subarray(0, c.size).toString('hex'), actual, loc);
  }
  const block = parseTreeBlock(buf);
  const h = block.header;
  if (h.bytenr !== bytenr) throw new CorruptError(`tree block bytenr mismatch, have ${h.bytenr} expect ${bytenr}`, loc);
  if (!h.fsid.equals(ctx.fsid)) throw new CorruptError(`tree block fsid mismatch, have ${formatUuid(h.fsid)} expect ${formatUuid(ctx.fsid)}`, loc);
  const mismatch = expectationMismatch(block, expect);
  if (mismatch) throw new CorruptError(mismatch, loc);
  checkTreeBlock(block, { ...ctx, tree: expect.tree ?? h.owner });
  return block;
}
