// Several sources one after another as one: the pieces of a split raw image, the extents of a VMDK.

import { IoError } from '../errors.js';
import { MappedSource, type Run } from './mapped-source.js';
import type { ContainerInfo, ImageSource } from './source.js';

export class ConcatSource extends MappedSource {
  readonly size: number;
  /** Where each piece starts in the whole, ascending. */
  private readonly starts: number[] = [];

  constructor(readonly name: string, private readonly pieces: ImageSource[], readonly container: ContainerInfo, owned: ImageSource[] = pieces) {
    super(owned);
    let at = 0;
    for (const p of pieces) {
      this.starts.push(at);
      at += p.size;
    }
    if (!Number.isSafeInteger(at)) throw new IoError(`pieces add up to more than 2^53 bytes`, { device: name });
    this.size = at;
  }

  protected async locate(position: number, max: number): Promise<Run> {
    // Binary search for the last piece starting at or before position.
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= position) lo = mid;
      else hi = mid - 1;
    }
    // Empty pieces share their start with the next one: step over them.
    while (lo < this.pieces.length - 1 && this.starts[lo]! + this.pieces[lo]!.size <= position) lo++;
    const piece = this.pieces[lo]!;
    const offset = position - this.starts[lo]!;
    return { kind: 'file', source: piece, offset, length: Math.min(max, piece.size - offset) };
  }
}
