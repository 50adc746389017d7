// The acquisition metadata of an EWF image: its "header2" section (UTF-16 text) or "header" section
// (ASCII text), zlib-compressed. The text is tab-separated: a category name ("main"), a line of
// identifiers (c case number, e examiner, n evidence number, a description, t notes, m acquisition
// date, ...) and a line of values.

import { inflateInto } from './inflate.js';

export interface Acquisition {
  caseNumber?: string;
  evidenceNumber?: string;
  description?: string;
  examiner?: string;
  notes?: string;
  /** As the header has it (a POSIX time in header2, "2002 3 4 10 19 59" in header) and as ISO 8601 when it is a POSIX time. */
  acquired?: string;
  systemDate?: string;
  os?: string;
  software?: string;
}

/** Header texts are a few KiB; EnCase caps free-form values at 3000 characters. */
const MAX_HEADER_TEXT = 1024 * 1024;

/** The text of a header or header2 section body, or undefined when it does not inflate. */
export function headerText(body: Buffer, utf16: boolean): string | undefined {
  const out = new Uint8Array(MAX_HEADER_TEXT);
  const r = inflateInto(body, out, 'zlib');
  if (!r.ended) return undefined;
  const bytes = Buffer.from(out.buffer, out.byteOffset, r.produced);
  if (!utf16) return bytes.toString('latin1');
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return Buffer.from(bytes.subarray(2)).swap16().toString('utf16le');
  return bytes.subarray(bytes[0] === 0xff && bytes[1] === 0xfe ? 2 : 0).toString('utf16le');
}

const KEYS: Record<string, keyof Acquisition> = {
  c: 'caseNumber', n: 'evidenceNumber', a: 'description', e: 'examiner', t: 'notes', m: 'acquired', u: 'systemDate', ov: 'os', av: 'software',
};

export function parseAcquisition(text: string): Acquisition {
  const lines = text.split(/\r?\n/);
  const main = lines.indexOf('main');
  const out: Acquisition = {};
  if (main < 0 || main + 2 >= lines.length) return out;
  const ids = lines[main + 1]!.split('\t');
  const values = lines[main + 2]!.split('\t');
  ids.forEach((id, i) => {
    const key = KEYS[id];
    const v = values[i];
    if (key && v) out[key] = key === 'acquired' || key === 'systemDate' ? dateText(v) : v;
  });
  return out;
}

function dateText(v: string): string {
  if (/^\d{1,12}$/.test(v)) return `${new Date(Number(v) * 1000).toISOString().replace('.000Z', 'Z')} (${v})`;
  return v;
}
