// RAID5/6 parity arithmetic on its own: GF(2^8) as the kernel's lib/raid6 defines it (generator 2,
// polynomial 0x11d), P and Q of a row, and the rebuild of every loss the profiles tolerate.

import assert from 'node:assert/strict';
import { computeP, computeQ, gfInv, gfMul, gfPow2, rebuildData } from '../lib/volume/raid56.js';

function rows(k: number, len: number, seed: number): Buffer[] {
  let x = seed * 2654435761;
  return Array.from({ length: k }, () => {
    const b = Buffer.alloc(len);
    for (let i = 0; i < len; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      b[i] = x >>> 24;
    }
    return b;
  });
}

describe('damage: RAID5/6 parity arithmetic', () => {
  it('GF(2^8): 2 generates the field, every non-zero element has an inverse, and 0x11d is the polynomial', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 255; i++) seen.add(gfPow2(i));
    assert.equal(seen.size, 255);
    for (let a = 1; a < 256; a++) assert.equal(gfMul(a, gfInv(a)), 1);
    // x^8 = x^4 + x^3 + x^2 + 1 in this field.
    assert.equal(gfMul(0x80, 2), 0x1d);
    assert.equal(gfPow2(8), 0x1d);
  });

  it('Q matches the definition sum(g^i * D_i), byte by byte', () => {
    const data = rows(5, 64, 1);
    const q = computeQ(data);
    for (let j = 0; j < 64; j++) {
      let want = 0;
      data.forEach((d, i) => { want ^= gfMul(gfPow2(i), d[j]!); });
      assert.equal(q[j], want);
    }
  });

  for (const k of [1, 2, 3, 5, 8]) {
    it(`${k} data stripe(s): every single loss (with P, with Q) and every pair of lost data stripes is rebuilt`, () => {
      const data = rows(k, 512, k);
      const p = computeP(data);
      const q = computeQ(data);
      const lose = (lost: number[]) => data.map((d, i) => (lost.includes(i) ? undefined : d));
      for (let x = 0; x < k; x++) {
        assert.deepEqual(rebuildData(lose([x]), p, undefined, x), data[x], `D${x} from P`);
        assert.deepEqual(rebuildData(lose([x]), undefined, q, x), data[x], `D${x} from Q`);
        for (let y = x + 1; y < k; y++) {
          assert.deepEqual(rebuildData(lose([x, y]), p, q, x), data[x], `D${x} of D${x}+D${y}`);
          assert.deepEqual(rebuildData(lose([x, y]), p, q, y), data[y], `D${y} of D${x}+D${y}`);
        }
      }
      if (k >= 2) assert.throws(() => rebuildData(lose([0, 1]), p, undefined, 0), /cannot rebuild/);
      if (k >= 3) assert.throws(() => rebuildData(lose([0, 1, 2]), p, q, 0), /cannot rebuild/);
    });
  }
});
