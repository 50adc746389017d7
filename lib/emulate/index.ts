// The read-path emulator: run a workload (read-all, or a JSON Lines trace) on emulated kernels with a
// per-inode page cache (Linux today) and a cache keyed by logical address (the proposal), and compare
// the work each does.

export { Emulator, emulate, type EmulateOptions, type EmulationReport } from './emulator.js';
export { Machine, type ReadResult } from './machine.js';
export { formatReport } from './report.js';
export { parseSize } from './size.js';
export { formatTraceLine, parseTraceLine, traceOps, validateTrace, OP_NAMES, type Op } from './trace.js';
export type { ReadCounters } from '../cache/counters.js';
export type { CachePolicy } from '../cache/page-key.js';
export { readAll, READ_ALL_CHUNK, WORKLOADS, type NumberedOp, type WorkloadName } from './workload.js';
