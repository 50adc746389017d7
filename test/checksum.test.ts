import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { blake2b as nobleBlake2b } from '@noble/hashes/blake2.js';
import { crc32cPortable } from '../lib/checksum/crc32c.js';
import { CSUM_TYPES, csumToHex, loadChecksummer, type Checksummer } from '../lib/checksum/index.js';
import { UnsupportedError, UsageError } from '../lib/errors.js';

const VECTORS = new URL('../../fixtures/vectors/', import.meta.url);
const ascii = (s: string) => new TextEncoder().encode(s);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
/** A 64-bit value as Btrfs stores it: little-endian bytes, hex. */
const le64 = (v: bigint) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(v);
  return b.toString('hex');
};
const le32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v);
  return b.toString('hex');
};

describe('checksum', () => {
  const all: Record<string, Checksummer> = {};
  before(async () => {
    for (const [name, type] of Object.entries(CSUM_TYPES)) all[name] = await loadChecksummer(type);
  });

  it('maps every BTRFS_CSUM_TYPE to its name and size', () => {
    assert.deepEqual(
      Object.values(all).map((c) => [c.type, c.name, c.size]),
      [[0, 'crc32c', 4], [1, 'xxhash64', 8], [2, 'sha256', 32], [3, 'blake2b', 32]],
    );
  });

  it('rejects unknown csum types as unsupported', async () => {
    await assert.rejects(loadChecksummer(4), UnsupportedError);
    await assert.rejects(loadChecksummer(-1), UnsupportedError);
  });

  it('returns the same instance on every load', async () => {
    assert.equal(await loadChecksummer(1), await loadChecksummer(1));
  });

  describe('crc32c (Castagnoli, seed ~0, final value stored little-endian)', () => {
    // RFC 3720 B.4 and the common check value for "123456789".
    const cases: [string, Uint8Array, number][] = [
      ['"123456789"', ascii('123456789'), 0xe3069283],
      ['empty', new Uint8Array(0), 0x00000000],
      ['32 x 0x00', new Uint8Array(32), 0x8a9136aa],
      ['32 x 0xff', new Uint8Array(32).fill(0xff), 0x62a8ab43],
      ['0..31', Uint8Array.from({ length: 32 }, (_, i) => i), 0x46dd794e],
      ['31..0', Uint8Array.from({ length: 32 }, (_, i) => 31 - i), 0x113fdb5c],
    ];
    for (const [what, data, want] of cases) {
      it(`of ${what} is ${want.toString(16)}`, () => {
        assert.equal(hex(all.crc32c!.digest(data)), le32(want));
      });
    }

    it('uses the CPU\'s CRC32C when its optional package loads', async () => {
      const installed = await import('@node-rs/crc32').then(() => true, () => false);
      assert.equal(all.crc32c !== crc32cPortable, installed);
    });

    it('every start alignment and length (the word loop, its byte tail, the unaligned path) gives the bitwise CRC', () => {
      // The definition, one bit at a time (reflected polynomial 0x82f63b78).
      const bitwise = (d: Uint8Array) => {
        let c = 0xffffffff;
        for (const byte of d) {
          c ^= byte;
          for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
        }
        return (c ^ 0xffffffff) >>> 0;
      };
      const data = randomBytes(4096 + 64);
      const backing = new Uint8Array(data.length + 8);
      for (const [name, c] of [['loaded', all.crc32c!], ['portable', crc32cPortable]] as const) {
        for (let shift = 0; shift < 8; shift++) {
          backing.set(data, shift);
          for (const len of [0, 1, 15, 16, 17, 31, 32, 33, 63, 100, 4095, 4096, 4096 + 49]) {
            const view = backing.subarray(shift, shift + len);
            const want = le32(bitwise(view));
            assert.equal(hex(c.digest(view)), want, `${name}: offset ${shift} length ${len}`);
            assert.ok(c.matches(view, Buffer.from(want, 'hex')), `${name}: matches, offset ${shift} length ${len}`);
            const wrong = Buffer.from(want, 'hex');
            wrong[3]! ^= 0x80; // the top bit: a signed/unsigned slip would pass this
            assert.ok(!c.matches(view, wrong), `${name}: a wrong sum matches, offset ${shift} length ${len}`);
          }
        }
      }
    });
  });

  describe('xxhash64 (XXH64, seed 0, stored little-endian)', () => {
    // xxHash's own sanity buffer: byteGen starts at PRIME32_1 and squares itself (mod 2^32).
    const sanity = new Uint8Array(101);
    let gen = 2654435761;
    for (let i = 0; i < sanity.length; i++) {
      sanity[i] = gen >>> 24;
      gen = Math.imul(gen, gen) >>> 0;
    }
    const cases: [string, Uint8Array, bigint][] = [
      ['empty', new Uint8Array(0), 0xef46db3751d8e999n],
      ['"a"', ascii('a'), 0xd24ec4f1a98c6e5bn],
      ['"abc"', ascii('abc'), 0x44bc2cf5ad770999n],
      ['sanity[0..1]', sanity.subarray(0, 1), 0x4fce394cc88952d8n],
      ['sanity[0..14]', sanity.subarray(0, 14), 0xcffa8db881bc3a3dn],
      ['sanity[0..101]', sanity, 0x0eab543384f878adn],
    ];
    for (const [what, data, want] of cases) {
      it(`of ${what} is ${want.toString(16)}`, () => {
        assert.equal(hex(all.xxhash64!.digest(data)), le64(want));
      });
    }
  });

  describe('sha256', () => {
    it('matches FIPS 180-2 vectors', () => {
      assert.equal(hex(all.sha256!.digest(ascii('abc'))), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
      assert.equal(hex(all.sha256!.digest(new Uint8Array(0))), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
      assert.equal(
        hex(all.sha256!.digest(ascii('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'))),
        '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
      );
    });
  });

  describe('blake2b (BLAKE2b-256: digest length 32 in the parameter block)', () => {
    it('matches the BLAKE2b-256 vectors (b2sum -l 256)', () => {
      assert.equal(hex(all.blake2b!.digest(ascii('abc'))), 'bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319');
      assert.equal(hex(all.blake2b!.digest(new Uint8Array(0))), '0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8');
    });

    it('is not BLAKE2b-512 truncated', () => {
      // BLAKE2b-512("abc") begins ba80a53f981c4d0d...; the parameter block differs, so every byte does.
      assert.notEqual(hex(all.blake2b!.digest(ascii('abc'))), 'ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1');
    });

    it('agrees with @noble/hashes across block boundaries and lengths', () => {
      const lengths = [0, 1, 3, 63, 64, 65, 127, 128, 129, 255, 256, 257, 1000, 4095, 4096, 4097, 16384, 65536 + 7];
      for (let n = 0; n < 300; n++) lengths.push(n);
      for (const n of lengths) {
        const data = randomBytes(n);
        assert.equal(hex(all.blake2b!.digest(data)), hex(nobleBlake2b(data, { dkLen: 32 })), `length ${n}`);
      }
    });

    it('hashes a subarray view, not its whole buffer', () => {
      const big = randomBytes(5000);
      const view = big.subarray(777, 777 + 4096);
      assert.equal(hex(all.blake2b!.digest(view)), hex(nobleBlake2b(Uint8Array.from(view), { dkLen: 32 })));
    });
  });

  describe('kernel-written superblocks (fixtures/vectors/superblock-<alg>.bin)', () => {
    for (const name of Object.keys(CSUM_TYPES)) {
      it(`${name}: digest of bytes 32..4095 equals the stored sum`, () => {
        const sb = new Uint8Array(readFileSync(new URL(`superblock-${name}.bin`, VECTORS)));
        assert.equal(sb.length, 4096);
        const cs = all[name]!;
        // csum_type lives at offset 0xc4 (u16 le); the image must say what we think it says.
        assert.equal(sb[0xc4]! | (sb[0xc5]! << 8), cs.type);
        assert.equal(hex(cs.digest(sb.subarray(32))), hex(sb.subarray(0, cs.size)));
        assert.ok(sb.subarray(cs.size, 32).every((b) => b === 0), 'csum field is zero past the sum');
        assert.equal(cs.matches(sb.subarray(32), sb), true);
        assert.equal(csumToHex(sb, cs.size), hex(sb.subarray(0, cs.size)));
      });

      it(`${name}: a flipped bit in the covered bytes or in the sum is a mismatch`, () => {
        const sb = new Uint8Array(readFileSync(new URL(`superblock-${name}.bin`, VECTORS)));
        const cs = all[name]!;
        const body = sb.slice(32);
        body[1000]! ^= 0x10;
        assert.equal(cs.matches(body, sb), false);
        const sum = sb.slice(0, 32);
        sum[cs.size - 1]! ^= 0x01;
        assert.equal(cs.matches(sb.subarray(32), sum), false);
      });
    }
  });

  it('matches() reads the stored sum at storedOffset (csum items pack sums back to back)', () => {
    for (const cs of Object.values(all)) {
      const sectors = [randomBytes(4096), randomBytes(4096), randomBytes(4096)];
      const item = new Uint8Array(cs.size * sectors.length);
      sectors.forEach((s, i) => item.set(cs.digest(s), i * cs.size));
      sectors.forEach((s, i) => assert.equal(cs.matches(s, item, i * cs.size), true, `${cs.name} #${i}`));
      assert.equal(cs.matches(sectors[0]!, item, cs.size), false, cs.name);
    }
  });

  it('matches() with too short a stored buffer is a usage error, not a RangeError', () => {
    for (const cs of Object.values(all)) {
      assert.throws(() => cs.matches(new Uint8Array(10), new Uint8Array(cs.size - 1)), UsageError);
      assert.throws(() => cs.matches(new Uint8Array(10), new Uint8Array(cs.size), 1), UsageError);
      assert.throws(() => cs.matches(new Uint8Array(10), new Uint8Array(64), -1), UsageError);
    }
  });

  it('digest() returns a fresh array each call', () => {
    for (const cs of Object.values(all)) {
      const a = cs.digest(ascii('one'));
      const b = cs.digest(ascii('two'));
      assert.notEqual(hex(a), hex(b));
      assert.equal(a.length, cs.size);
    }
  });
});
