// Built-in workloads. `read-all`: every regular file of every subvolume reachable from the view's
// root, in path order (the walk's order: depth first, names sorted by bytes), read start to end in
// 128 KiB reads, as `cat` or `tar` would read them.

import type { Btrfs } from '../fs/btrfs.js';
import { walk } from '../fs/walk.js';
import { UnsupportedError } from '../errors.js';
import type { Op } from './trace.js';

export const WORKLOADS = ['read-all'] as const;
export type WorkloadName = (typeof WORKLOADS)[number];

export const READ_ALL_CHUNK = 128 * 1024;

export interface NumberedOp {
  /** Trace line, or sequence number of a generated operation. */
  line: number;
  op: Op;
}

/** read-all of the view, or of the trees under `roots` (one after the other). */
export async function* readAll(btrfs: Btrfs, chunk = READ_ALL_CHUNK, roots: readonly string[] = ['/']): AsyncGenerator<NumberedOp> {
  let line = 0;
  for (const root of roots) {
    for await (const e of walk(btrfs, root, { follow: false })) {
      if (e.kind !== 'file') continue;
      if (e.facts.size > BigInt(Number.MAX_SAFE_INTEGER)) throw new UnsupportedError(`read-all of a file of ${e.facts.size} bytes`, { path: e.path });
      const size = Number(e.facts.size);
      for (let offset = 0; offset < size; offset += chunk) yield { line: ++line, op: { op: 'read', path: e.path, offset, length: chunk } };
    }
  }
}
