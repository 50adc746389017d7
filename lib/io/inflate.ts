// zlib and raw deflate for container payloads (EWF chunks and header sections, VMDK grains, qcow2
// clusters). Btrfs's own zlib reader (lib/compression/zlib.ts) stops at 128 KiB and never checks the
// Adler-32; containers need larger units, and EWF relies on that Adler-32 to say which chunk is bad.
//
// Node's own zlib (native, about three times pako's speed here) inflates every well-formed unit; a
// unit it does not inflate to exactly its size goes to pako's low-level API, which inflates straight
// into the caller's array (a stream that claims more than the unit holds costs no more than the unit)
// and says how far it got and why it stopped.

import { inflateRawSync, inflateSync } from 'node:zlib';
import { ZStream, Z_BUF_ERROR, Z_FINISH, Z_OK, Z_STREAM_END, zlibInflate, zlibInflateInit2, zlibInflateReset2 } from 'pako';

/** `zlib`: RFC 1950 (header and Adler-32 trailer, checked); `raw`: bare deflate (qcow2). */
export type Wrap = 'zlib' | 'raw';

export interface Inflated {
  /** Bytes written to the output. */
  produced: number;
  /** The stream reached its end (for zlib: its Adler-32 matched). */
  ended: boolean;
  /** Why the stream could not be inflated, when it could not. */
  error?: string;
}

const EMPTY = new Uint8Array(0);
// One stream per wrap, reset between uses: inflate is synchronous, so no two calls share one, and a
// fresh window and tables per 32 KiB chunk would cost a third of the throughput.
const streams = new Map<Wrap, ZStream>();

export function inflateInto(input: Uint8Array, out: Uint8Array, wrap: Wrap): Inflated {
  try {
    // maxOutputLength makes a stream that runs past the unit throw rather than grow.
    const whole = (wrap === 'zlib' ? inflateSync : inflateRawSync)(input, { maxOutputLength: Math.max(1, out.length) });
    if (whole.length === out.length) {
      out.set(whole);
      return { produced: whole.length, ended: true };
    }
  } catch {
    // Damaged, cut short or too long: the diagnosing path below says which.
  }
  return inflateDiagnosed(input, out, wrap);
}

function inflateDiagnosed(input: Uint8Array, out: Uint8Array, wrap: Wrap): Inflated {
  const bits = wrap === 'zlib' ? 15 : -15;
  let strm = streams.get(wrap);
  if (!strm) {
    strm = new ZStream();
    if (zlibInflateInit2(strm, bits) !== Z_OK) return { produced: 0, ended: false, error: 'cannot start inflate' };
    streams.set(wrap, strm);
  } else if (zlibInflateReset2(strm, bits) !== Z_OK) {
    return { produced: 0, ended: false, error: 'cannot reset inflate' };
  }
  strm.input = input;
  strm.next_in = 0;
  strm.avail_in = input.length;
  strm.output = out as Uint8Array<ArrayBuffer>;
  strm.next_out = 0;
  strm.avail_out = out.length;
  strm.msg = '';
  let status: number;
  try {
    status = zlibInflate(strm, Z_FINISH);
  } catch (e) {
    return { produced: strm.next_out, ended: false, error: `inflate failed: ${(e as Error).message}` };
  } finally {
    strm.input = EMPTY;
    strm.output = EMPTY;
  }
  const produced = strm.next_out;
  if (status === Z_STREAM_END) return { produced, ended: true };
  if ((status === Z_OK || status === Z_BUF_ERROR) && strm.avail_out === 0) return { produced, ended: false };
  if (status === Z_OK || status === Z_BUF_ERROR) return { produced, ended: false, error: `stream ends after ${produced} bytes (input cut short)` };
  return { produced, ended: false, error: strm.msg || `inflate error ${status}` };
}
