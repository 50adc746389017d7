// Runs a workload on one emulated kernel per cache policy, in lockstep: each operation goes to every
// policy before the next one, so a caller can compare what each returned, and the report puts the
// policies' counters side by side.

import type { ReadCounters } from '../cache/counters.js';
import { CACHE_POLICIES, type CachePolicy } from '../cache/page-key.js';
import type { ReclaimPolicy } from '../cache/page-cache.js';
import type { Btrfs } from '../fs/btrfs.js';
import { PathError, UsageError } from '../errors.js';
import { ImageIndex } from './image-index.js';
import { Machine, type ReadResult } from './machine.js';
import type { Op } from './trace.js';
import type { NumberedOp } from './workload.js';

export interface EmulateOptions {
  /** Policies to emulate (default both). */
  policies?: readonly CachePolicy[];
  /** Page cache budget in bytes (default unlimited). */
  memoryBytes?: number;
  reclaim?: ReclaimPolicy;
  /** Readahead window for uncompressed extents (default 128 KiB). */
  readaheadBytes?: number;
  /** Keep page bytes so reads return data (default false: count only, memory stays small). */
  keepData?: boolean;
  /** Every reading operation's result under each policy (data-keeping runs give bytes). */
  onRead?: (policy: CachePolicy, op: Op, line: number, result: ReadResult) => void | Promise<void>;
}

export interface EmulationReport {
  workload: string;
  operations: number;
  sectorsize: number;
  /** null: unlimited. */
  memory_bytes: number | null;
  reclaim: ReclaimPolicy;
  readahead_bytes: number;
  'per-inode'?: ReadCounters;
  logical?: ReadCounters;
  /** Per counter, how much less the logical policy did, in percent of per-inode (null when per-inode did none). */
  savings?: Partial<Record<keyof ReadCounters, number | null>>;
}

export class Emulator {
  operations = 0;

  private constructor(readonly machines: Machine[], private readonly options: EmulateOptions, readonly sectorsize: number) {}

  static async create(btrfs: Btrfs, options: EmulateOptions = {}): Promise<Emulator> {
    const S = btrfs.filesystem.sectorsize;
    const memory = options.memoryBytes ?? Infinity;
    if (!(memory >= S)) throw new UsageError(`memory budget of ${memory} bytes is less than one page (${S} bytes)`);
    const policies = options.policies ?? CACHE_POLICIES;
    const refs = btrfs.shareability;
    const images = new ImageIndex(btrfs);
    const machines: Machine[] = [];
    for (const policy of policies) {
      machines.push(await Machine.create(btrfs, refs, images, {
        policy,
        maxPages: Number.isFinite(memory) ? Math.floor(memory / S) : Infinity,
        reclaim: options.reclaim ?? 'active-inactive',
        readaheadBytes: options.readaheadBytes ?? 128 * 1024,
        keepData: options.keepData ?? false,
      }));
    }
    return new Emulator(machines, options, S);
  }

  machine(policy: CachePolicy): Machine | undefined {
    return this.machines.find((m) => m.policy === policy);
  }

  async apply(op: Op, line: number): Promise<void> {
    this.operations++;
    for (const m of this.machines) {
      let result: ReadResult | undefined;
      try {
        result = await m.apply(op, line);
      } catch (e) {
        // The workload's own mistakes name the line; damage in the image keeps its located error.
        if (e instanceof UsageError || e instanceof PathError) throw new UsageError(`line ${line} (${op.op}): ${e.message}`);
        throw e;
      }
      if (result && this.options.onRead) await this.options.onRead(m.policy, op, line, result);
    }
  }

  async run(ops: AsyncIterable<NumberedOp> | Iterable<NumberedOp>): Promise<void> {
    for await (const { line, op } of ops) await this.apply(op, line);
  }

  report(workload: string): EmulationReport {
    const memory = this.options.memoryBytes ?? Infinity;
    const report: EmulationReport = {
      workload, operations: this.operations, sectorsize: this.sectorsize,
      memory_bytes: Number.isFinite(memory) ? memory : null,
      reclaim: this.options.reclaim ?? 'active-inactive',
      readahead_bytes: this.options.readaheadBytes ?? 128 * 1024,
    };
    for (const m of this.machines) report[m.policy] = { ...m.counters };
    const a = report['per-inode'];
    const b = report.logical;
    if (a && b) {
      report.savings = {};
      for (const k of Object.keys(a) as Array<keyof ReadCounters>) report.savings[k] = a[k] > 0 ? Math.round(((a[k] - b[k]) / a[k]) * 1000) / 10 : null;
    }
    return report;
  }
}

/** Run `ops` under the chosen policies and report. */
export async function emulate(btrfs: Btrfs, workload: string, ops: AsyncIterable<NumberedOp> | Iterable<NumberedOp>, options: EmulateOptions = {}): Promise<EmulationReport> {
  const emulator = await Emulator.create(btrfs, options);
  await emulator.run(ops);
  return emulator.report(workload);
}

