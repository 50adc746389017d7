// Reading tree blocks for a dump, the way progs' read_tree_block does: every copy is tried; a copy whose
// header is right is still printed when its checksum or generation is wrong (after saying so), because a
// dump exists to look at damaged filesystems too. Only a block no copy of which even claims to be that
// block is given up on. No tree-checker runs here: the printers are bounded on their own.

import type { Checksummer } from '../checksum/index.js';
import { BtrfsError } from '../errors.js';
import { CSUM_SIZE, MAX_LEVEL } from '../ondisk/constants.js';
import { header as headerStruct } from '../ondisk/node.js';
import { formatUuid } from '../ondisk/uuid.js';
import type { Volume } from '../volume/volume.js';
import type { DumpMessage } from './document.js';

/** What a dump reports beside its output (progs' stderr). */
export type Message = DumpMessage;

export interface ReadBlock {
  bytenr: bigint;
  buf: Buffer;
  level: number;
  generation: bigint;
}

const CACHE_BLOCKS = 256;

export class DumpBlockReader {
  private readonly cache = new Map<bigint, ReadBlock>();

  constructor(
    private readonly volume: Volume,
    private readonly checksummer: Checksummer,
    private readonly fsid: Buffer,
    readonly nodesize: number,
    private readonly report: (m: Message) => void,
  ) {}

  /**
   * The block at `bytenr`, or undefined (with the reasons reported) when no copy is usable. With
   * `generation`, a copy from another transaction counts as damaged, as a parent pointer promises.
   */
  async read(bytenr: bigint, generation?: bigint): Promise<ReadBlock | undefined> {
    const cached = this.cache.get(bytenr);
    if (cached) {
      this.cache.delete(bytenr);
      this.cache.set(bytenr, cached);
      if (generation !== undefined && generation !== 0n && cached.generation !== generation) {
        this.note(`parent transid verify failed on ${bytenr} wanted ${generation} found ${cached.generation}`);
      }
      return cached;
    }
    let copies: number;
    try {
      copies = this.volume.mirrorCount(bytenr);
    } catch (e) {
      return this.fail(bytenr, e);
    }
    let fallback: ReadBlock | undefined;
    let lastError: unknown;
    for (let mirror = 0; mirror < copies; mirror++) {
      let buf: Buffer;
      try {
        buf = await this.volume.read(bytenr, this.nodesize, mirror);
      } catch (e) {
        lastError = e;
        if (!(e instanceof BtrfsError)) throw e;
        continue;
      }
      const h = headerStruct.decode(buf, 0);
      if (h.bytenr !== bytenr) {
        this.note(`bad tree block ${bytenr}, bytenr mismatch, want=${bytenr}, have=${h.bytenr}`);
        continue;
      }
      if (!h.fsid.equals(this.fsid)) {
        this.note(`bad tree block ${bytenr}, fsid mismatch, want=${formatUuid(this.fsid)}, have=${formatUuid(h.fsid)}`);
        continue;
      }
      if (h.level >= MAX_LEVEL) {
        this.note(`bad tree block ${bytenr}, level ${h.level} is not below ${MAX_LEVEL}`);
        continue;
      }
      const block: ReadBlock = { bytenr, buf, level: h.level, generation: h.generation };
      let good = true;
      const c = this.checksummer;
      if (!c.matches(buf.subarray(CSUM_SIZE), buf, 0)) {
        const found = Buffer.from(c.digest(buf.subarray(CSUM_SIZE))).toString('hex');
        this.note(`checksum verify failed on ${bytenr} wanted 0x${buf.toString('hex', 0, c.size)} found 0x${found}`);
        good = false;
      }
      if (generation !== undefined && generation !== 0n && h.generation !== generation) {
        this.note(`parent transid verify failed on ${bytenr} wanted ${generation} found ${h.generation}`);
        good = false;
      }
      if (good) return this.keep(bytenr, block);
      if (!fallback || block.generation > fallback.generation) fallback = block;
    }
    if (fallback) return this.keep(bytenr, fallback);
    return this.fail(bytenr, lastError);
  }

  private keep(bytenr: bigint, block: ReadBlock): ReadBlock {
    this.cache.set(bytenr, block);
    if (this.cache.size > CACHE_BLOCKS) this.cache.delete(this.cache.keys().next().value as bigint);
    return block;
  }

  private fail(bytenr: bigint, e: unknown): undefined {
    if (e !== undefined && !(e instanceof BtrfsError)) throw e;
    if (e instanceof BtrfsError) this.note(`cannot read tree block ${bytenr}: ${e.message}`);
    return undefined;
  }

  private note(text: string): void {
    this.report({ level: 'note', text });
  }
}
