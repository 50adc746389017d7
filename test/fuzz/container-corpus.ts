// Fuzzing the containers (fixtures/containers/): where their metadata lies (headers, footers, section
// descriptors, L1/L2 tables, BATs, grain directories), learned once per container from its clean
// files, and the mutations aimed there. A mutated container goes through the same open, walk, read
// and check as a mutated image; any library error is fine, anything else is a finding.

import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { adler32 } from '../../lib/io/adler32.js';
import { containerFiles, containerIndex } from '../helpers/containers.js';
import type { Mutation, Patch } from './mutation.js';
import type { Rng } from './rng.js';

export const CONTAINER_PREFIX = 'container:';

/** The containers the fuzz slice mutates: one per way of mapping bytes. */
export const FUZZ_CONTAINERS = [
  'mixed-deflate', 'chain-top', 'chain-l2ext', 'mixed-zstd', 'mixed-e01', 'mixed-stream', 'mixed-split', 'mixed-dynamic-vhd',
  'mixed-dirty-log', 'mixed-split-numeric',
];

interface Region {
  file: number;
  offset: number;
  length: number;
  what: string;
  /** An EWF section descriptor: its Adler-32 is recomputed after the change, so the damage gets past it. */
  ewfDescriptor?: boolean;
}

export interface ContainerCorpus {
  fixture: string;
  images: string[];
  sizes: number[];
  regions: Region[];
}

const corpora = new Map<string, Promise<ContainerCorpus>>();

/** The files of a container fixture, the one to open first. */
export async function containerImages(fixture: string): Promise<string[]> {
  const name = fixture.slice(CONTAINER_PREFIX.length);
  const c = containerIndex().find((x) => x.name === name);
  if (!c) throw new Error(`no container fixture ${name}`);
  const dir = await containerFiles();
  return [c.open, ...c.files.filter((f) => f !== c.open)].map((f) => join(dir, f));
}

export function containerCorpusOf(fixture: string): Promise<ContainerCorpus> {
  let c = corpora.get(fixture);
  if (!c) {
    c = build(fixture);
    corpora.set(fixture, c);
  }
  return c;
}

function readAt(path: string, offset: number, length: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(length);
    readSync(fd, b, 0, length, offset);
    return b;
  } finally {
    closeSync(fd);
  }
}

async function build(fixture: string): Promise<ContainerCorpus> {
  const images = await containerImages(fixture);
  const sizes = images.map((p) => statSync(p).size);
  const regions: Region[] = [];
  images.forEach((p, file) => {
    const size = sizes[file]!;
    regions.push({ file, offset: 0, length: Math.min(size, 4096), what: 'file head' });
    if (size > 4096) regions.push({ file, offset: size - 1536, length: 1536, what: 'file tail' });
    const head = readAt(p, 0, Math.min(size, 512));
    if (head.subarray(0, 4).toString('latin1') === 'QFI\xfb') {
      const cs = 1 << head.readUInt32BE(20);
      const l1 = Number(head.readBigUInt64BE(40));
      const l1Size = head.readUInt32BE(36);
      regions.push({ file, offset: l1, length: l1Size * 8, what: 'qcow2 L1 table' });
      const table = readAt(p, l1, l1Size * 8);
      for (let i = 0; i < l1Size; i++) {
        const l2 = Number(table.readBigUInt64BE(i * 8) & 0x00fffffffffffe00n);
        if (l2) regions.push({ file, offset: l2, length: cs, what: `qcow2 L2 table ${i}` });
      }
    } else if (head.subarray(0, 3).toString('latin1') === 'EVF') {
      let at = 13;
      for (let n = 0; n < 64 && at + 76 <= size; n++) {
        const d = readAt(p, at, 76);
        regions.push({ file, offset: at, length: 76, what: `EWF section ${d.toString('latin1', 0, 16).replace(/\0.*$/s, '')}`, ewfDescriptor: true });
        const type = d.toString('latin1', 0, 4);
        if (type === 'tabl') regions.push({ file, offset: at + 76, length: Math.min(4096, Number(d.readBigUInt64LE(24)) - 76), what: 'EWF table' });
        const next = Number(d.readBigUInt64LE(16));
        if (next <= at) break;
        at = next;
      }
    } else if (head.subarray(0, 4).toString('latin1') === 'KDMV') {
      const gd = Number(head.readBigUInt64LE(56)) * 512;
      if (gd > 0 && gd < size) regions.push({ file, offset: gd, length: Math.min(4096, size - gd), what: 'VMDK grain directory and tables' });
    } else if (head.subarray(0, 8).toString('latin1') === 'conectix') {
      regions.push({ file, offset: 512, length: Math.min(2048, size - 512), what: 'VHD dynamic header and BAT' });
    } else if (head.subarray(0, 8).toString('latin1') === 'vhdxfile') {
      for (const [offset, what] of [[65536, 'VHDX headers'], [196608, 'VHDX region tables'], [1048576, 'VHDX log'], [2097152, 'VHDX BAT'], [3145728, 'VHDX metadata']] as const) {
        if (offset + 4096 <= size) regions.push({ file, offset, length: 4096, what });
      }
    }
  });
  return { fixture, images, sizes, regions };
}

const INTERESTING = [0n, 1n, 0x7fn, 0xffn, 0x100n, 0x7fffn, 0xffffn, 0x7fffffffn, 0x80000000n, 0xffffffffn, 0x100000000n, 2n ** 53n, 2n ** 63n, 2n ** 64n - 1n];

function field(rng: Rng, width: 1 | 2 | 4 | 8, little: boolean, original: Buffer): Buffer {
  const out = Buffer.alloc(width);
  let v = rng.chance(0.7) ? rng.pick(INTERESTING) : BigInt(rng.int(2 ** 31)) * BigInt(rng.int(2 ** 20) + 1);
  if (rng.chance(0.2)) v = (width === 8 ? original.readBigUInt64LE(0) : BigInt(original.readUIntLE(0, width))) + BigInt(rng.range(-2, 2));
  v = BigInt.asUintN(width * 8, v);
  if (width === 8) {
    if (little) out.writeBigUInt64LE(v);
    else out.writeBigUInt64BE(v);
  } else if (little) out.writeUIntLE(Number(v), 0, width);
  else out.writeUIntBE(Number(v), 0, width);
  return out;
}

/** One mutation of a container: a forged field in its metadata, bit flips, a cut or a removed file. */
export function mutateContainer(rng: Rng, c: ContainerCorpus): Mutation {
  const base = (mutator: string, description: string, patches: Patch[]): Mutation => ({ fixture: c.fixture, mutator, description, patches });
  const r = rng.int(10);
  if (r < 6 && c.regions.length) {
    const region = rng.pick(c.regions);
    const path = c.images[region.file]!;
    const before = readAt(path, region.offset, region.length);
    const after = Buffer.from(before);
    const what: string[] = [];
    for (let n = rng.range(1, 3); n > 0; n--) {
      const width = rng.pick([1, 2, 4, 8] as const);
      if (region.length < width) continue;
      const at = rng.int(region.length - width + 1) & ~(width - 1);
      field(rng, width, rng.chance(0.5), after.subarray(at, at + width)).copy(after, at);
      what.push(`+${at}/${width}`);
    }
    if (region.ewfDescriptor && rng.chance(0.8)) after.writeUInt32LE(adler32(after.subarray(0, 72)), 72);
    return base('container-field', `${region.what} of file ${region.file} at ${region.offset}: fields ${what.join(' ')}`, [{ device: region.file, offset: region.offset, hex: after.toString('hex') }]);
  }
  if (r < 8) {
    const patches: Patch[] = [];
    for (let n = rng.range(1, 8); n > 0; n--) {
      const file = rng.int(c.images.length);
      const at = rng.int(Math.max(1, c.sizes[file]!));
      const byte = readAt(c.images[file]!, at, 1);
      byte[0]! ^= 1 << rng.int(8);
      patches.push({ device: file, offset: at, hex: byte.toString('hex') });
    }
    return base('container-bitflip', `${patches.length} bit flip(s)`, patches);
  }
  if (r < 9 || c.images.length < 2) {
    const file = rng.int(c.images.length);
    const size = rng.int(Math.max(1, c.sizes[file]!));
    return { ...base('container-truncate', `file ${file} cut to ${size} bytes`, []), truncate: [{ device: file, size }] };
  }
  const file = rng.range(1, c.images.length - 1);
  return { ...base('container-remove', `file ${file} (${c.images[file]}) removed`, []), remove: [file] };
}
