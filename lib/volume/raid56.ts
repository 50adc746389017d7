// RAID5/6 parity: P is the XOR of the data stripes of a row, Q is sum(g^i * D_i) over GF(2^8) with the
// generator g = 2 and the polynomial x^8 + x^4 + x^3 + x^2 + 1 (0x11d), the field the kernel's lib/raid6
// uses. Pure functions over equal-length byte arrays; which stripes are lost is the caller's business.

import { CorruptError } from '../errors.js';

const EXP = new Uint8Array(512);
const LOG = new Uint8Array(256);
{
  let x = 1;
  for (let i = 0; i < 255; i++) {
    EXP[i] = x;
    LOG[x] = i;
    x <<= 1;
    if (x & 0x100) x ^= 0x11d;
  }
  // Doubled so that EXP[LOG[a] + LOG[b]] needs no modulo.
  for (let i = 255; i < 512; i++) EXP[i] = EXP[i - 255]!;
}

export function gfMul(a: number, b: number): number {
  return a === 0 || b === 0 ? 0 : EXP[LOG[a]! + LOG[b]!]!;
}

export function gfInv(a: number): number {
  // Only reachable with two data indices equal modulo 255: a row wider than the field allows.
  if (a === 0) throw new CorruptError('RAID6 row has more data stripes than GF(2^8) can tell apart');
  return EXP[255 - LOG[a]!]!;
}

/** g^i for a data stripe index. */
export function gfPow2(i: number): number {
  return EXP[i % 255]!;
}

const mulTables = new Map<number, Uint8Array>();

/** The 256-entry table of multiplication by `c`: one lookup per byte on the hot path. */
function mulTable(c: number): Uint8Array {
  let t = mulTables.get(c);
  if (!t) {
    t = new Uint8Array(256);
    for (let v = 0; v < 256; v++) t[v] = gfMul(c, v);
    mulTables.set(c, t);
  }
  return t;
}

export function xorInto(dst: Uint8Array, src: Uint8Array): void {
  for (let i = 0; i < dst.length; i++) dst[i]! ^= src[i]!;
}

/** dst ^= c * src */
function mulXorInto(dst: Uint8Array, src: Uint8Array, c: number): void {
  if (c === 1) return xorInto(dst, src);
  const t = mulTable(c);
  for (let i = 0; i < dst.length; i++) dst[i]! ^= t[src[i]!]!;
}

function scale(buf: Uint8Array, c: number): void {
  const t = mulTable(c);
  for (let i = 0; i < buf.length; i++) buf[i] = t[buf[i]!]!;
}

function sameLength(parts: ReadonlyArray<Uint8Array | undefined>): number {
  let n = -1;
  for (const p of parts) {
    if (!p) continue;
    if (n >= 0 && p.length !== n) throw new CorruptError('parity rebuild over stripes of different lengths');
    n = p.length;
  }
  if (n < 0) throw new CorruptError('parity rebuild with nothing to rebuild from');
  return n;
}

export function computeP(data: ReadonlyArray<Uint8Array>): Buffer {
  const p = Buffer.alloc(sameLength(data));
  for (const d of data) xorInto(p, d);
  return p;
}

export function computeQ(data: ReadonlyArray<Uint8Array>): Buffer {
  const q = Buffer.alloc(sameLength(data));
  data.forEach((d, i) => mulXorInto(q, d, gfPow2(i)));
  return q;
}

/**
 * Data stripe `want` of a row from what survived: `data[i]` undefined where stripe i is lost, `p`/`q`
 * undefined when lost or absent (RAID5 has no Q). At most two stripes in total may be lost, and with
 * two lost data stripes both P and Q are needed.
 */
export function rebuildData(data: ReadonlyArray<Uint8Array | undefined>, p: Uint8Array | undefined, q: Uint8Array | undefined, want: number): Buffer {
  if (data[want]) return Buffer.from(data[want]!);
  const len = sameLength([...data, p, q]);
  const lost = data.flatMap((d, i) => (d ? [] : [i]));
  if (lost.length === 1 && p) {
    const out = Buffer.from(p);
    for (const d of data) if (d) xorInto(out, d);
    return out;
  }
  if (lost.length === 1 && q) {
    // Q ^ sum over survivors of g^i D_i leaves g^want D_want.
    const out = Buffer.from(q);
    data.forEach((d, i) => { if (d) mulXorInto(out, d, gfPow2(i)); });
    scale(out, gfInv(gfPow2(want)));
    return out;
  }
  if (lost.length === 2 && p && q) {
    const [x, y] = lost as [number, number];
    const pxy = Buffer.from(p);
    const qxy = Buffer.from(q);
    data.forEach((d, i) => {
      if (!d) return;
      xorInto(pxy, d);
      mulXorInto(qxy, d, gfPow2(i));
    });
    // pxy = Dx ^ Dy and qxy = g^x Dx ^ g^y Dy, so Dx = (g^y pxy ^ qxy) / (g^x ^ g^y).
    const gx = gfPow2(x);
    const gy = gfPow2(y);
    const dx = Buffer.alloc(len);
    mulXorInto(dx, pxy, gy);
    xorInto(dx, qxy);
    scale(dx, gfInv(gx ^ gy));
    if (want === x) return dx;
    xorInto(pxy, dx);
    return pxy;
  }
  throw new CorruptError(`cannot rebuild: ${lost.length} data stripe(s) lost, P ${p ? 'present' : 'lost'}, Q ${q ? 'present' : 'lost'}`);
}
