// Workload traces: JSON Lines, one operation per line, each validated with zod. A trace is checked
// completely before anything runs (a bad line is reported with its number and what is wrong), then
// read a second time to run, so a trace of millions of operations is never held in memory.

import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import { UsageError } from '../errors.js';

/** Largest single read or write (bytes). */
export const MAX_IO = 1 << 30;

const offset = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const length = z.number().int().nonnegative().max(MAX_IO);
const path = z.string().min(1).max(65536);
const payload = {
  /** Bytes to write, in `encoding` (default utf8); without it a pattern of `length` bytes is written. */
  data: z.string().max(2 * MAX_IO).optional(),
  encoding: z.enum(['utf8', 'base64', 'hex']).optional(),
};

const lineSchema = z.discriminatedUnion('op', [
  z.strictObject({ op: z.literal('read'), path, offset, length }),
  z.strictObject({ op: z.literal('write'), path, offset, length: length.optional(), ...payload }),
  z.strictObject({ op: z.literal('dio-read'), path, offset, length }),
  z.strictObject({ op: z.literal('dio-write'), path, offset, length: length.optional(), ...payload }),
  z.strictObject({ op: z.literal('mmap-read'), path, offset }),
  z.strictObject({ op: z.literal('mmap-write'), path, offset, ...payload }),
  z.strictObject({ op: z.literal('fsync'), path }),
  z.strictObject({ op: z.literal('reflink'), src: path, dst: path, src_offset: offset.optional(), dst_offset: offset.optional(), length: offset.optional() }),
  z.strictObject({ op: z.literal('snapshot'), src: path, dst: path, readonly: z.boolean().optional() }),
  z.strictObject({ op: z.literal('unlink'), path }),
  z.strictObject({ op: z.literal('truncate'), path, size: offset }),
  z.strictObject({ op: z.literal('drop-caches') }),
]);

type Line = z.infer<typeof lineSchema>;

/** An operation ready to run: payloads decoded to bytes, lengths settled. */
export type Op =
  | { op: 'read' | 'dio-read'; path: string; offset: number; length: number }
  | { op: 'write' | 'dio-write'; path: string; offset: number; length: number; data?: Buffer }
  | { op: 'mmap-read'; path: string; offset: number }
  | { op: 'mmap-write'; path: string; offset: number; data?: Buffer }
  | { op: 'fsync' | 'unlink'; path: string }
  | { op: 'reflink'; src: string; dst: string; src_offset: number; dst_offset: number; length: number }
  | { op: 'snapshot'; src: string; dst: string; readonly: boolean }
  | { op: 'truncate'; path: string; size: number }
  | { op: 'drop-caches' };

export const OP_NAMES = ['read', 'write', 'dio-read', 'dio-write', 'mmap-read', 'mmap-write', 'fsync', 'reflink', 'snapshot', 'unlink', 'truncate', 'drop-caches'] as const;

function decode(data: string, encoding: 'utf8' | 'base64' | 'hex' | undefined): Buffer | string {
  switch (encoding ?? 'utf8') {
    case 'utf8':
      return Buffer.from(data, 'utf8');
    case 'base64':
      if (data.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(data)) return '"data" is not valid base64';
      return Buffer.from(data, 'base64');
    default:
      if (data.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(data)) return '"data" is not valid hex';
      return Buffer.from(data, 'hex');
  }
}

/** One line to an operation, or a message saying what is wrong with it. */
export function parseTraceLine(text: string): Op | string {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return `not JSON (${(e as Error).message})`;
  }
  const parsed = lineSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.length ? `"${issue.path.join('.')}": ` : '';
    return `${where}${issue.message}`;
  }
  return settle(parsed.data);
}

function settle(l: Line): Op | string {
  switch (l.op) {
    case 'write':
    case 'dio-write': {
      let data: Buffer | undefined;
      if (l.data !== undefined) {
        const d = decode(l.data, l.encoding);
        if (typeof d === 'string') return d;
        if (l.length !== undefined && l.length !== d.length) return `"length" is ${l.length} but "data" holds ${d.length} bytes`;
        if (d.length > MAX_IO) return `"data" holds more than ${MAX_IO} bytes`;
        data = d;
      } else if (l.encoding !== undefined) return '"encoding" without "data"';
      const n = data ? data.length : l.length;
      if (n === undefined) return 'a write needs "length" or "data"';
      if (l.offset + n > Number.MAX_SAFE_INTEGER) return '"offset" + "length" is too large';
      return data ? { op: l.op, path: l.path, offset: l.offset, length: n, data } : { op: l.op, path: l.path, offset: l.offset, length: n };
    }
    case 'mmap-write': {
      if (l.data === undefined) return l.encoding !== undefined ? '"encoding" without "data"' : { op: l.op, path: l.path, offset: l.offset };
      const d = decode(l.data, l.encoding);
      if (typeof d === 'string') return d;
      return { op: l.op, path: l.path, offset: l.offset, data: d };
    }
    case 'read':
    case 'dio-read':
      if (l.offset + l.length > Number.MAX_SAFE_INTEGER) return '"offset" + "length" is too large';
      return l;
    case 'reflink':
      return { op: 'reflink', src: l.src, dst: l.dst, src_offset: l.src_offset ?? 0, dst_offset: l.dst_offset ?? 0, length: l.length ?? 0 };
    case 'snapshot':
      return { op: 'snapshot', src: l.src, dst: l.dst, readonly: l.readonly ?? false };
    default:
      return l;
  }
}

async function* lines(file: string): AsyncGenerator<{ line: number; text: string }> {
  const input = createReadStream(file, { encoding: 'utf8' });
  const rl = createInterface({ input, crlfDelay: Infinity });
  let line = 0;
  try {
    for await (const text of rl) {
      line++;
      if (text.trim() === '') continue;
      yield { line, text };
    }
  } catch (e) {
    throw new UsageError(`cannot read trace ${file}: ${(e as Error).message}`);
  } finally {
    rl.close();
    input.destroy();
  }
}

/** Check every line; throws a UsageError naming the first bad line. Returns the number of operations. */
export async function validateTrace(file: string): Promise<number> {
  let count = 0;
  for await (const { line, text } of lines(file)) {
    const op = parseTraceLine(text);
    if (typeof op === 'string') throw new UsageError(`trace ${file} line ${line}: ${op}`);
    count++;
  }
  return count;
}

/** The operations of a validated trace, with their line numbers. */
export async function* traceOps(file: string): AsyncGenerator<{ line: number; op: Op }> {
  for await (const { line, text } of lines(file)) {
    const op = parseTraceLine(text);
    if (typeof op === 'string') throw new UsageError(`trace ${file} line ${line}: ${op}`);
    yield { line, op };
  }
}

/** One operation as a trace line (for generated traces). */
export function formatTraceLine(op: Op): string {
  const { data, ...rest } = op as Op & { data?: Buffer };
  return JSON.stringify(data ? { ...rest, data: data.toString('base64'), encoding: 'base64' } : rest);
}
