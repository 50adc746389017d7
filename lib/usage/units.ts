// Sizes the way btrfs-progs prints them (common/units.c pretty_size_mode): raw bytes, or "%.2f" of a
// single-precision fraction with a binary (KiB) or decimal (kB) suffix, either picked automatically
// (--human-readable, the default) or fixed (--kbytes ... --tbytes).

export type UnitBase = 'binary' | 'decimal';
export type UnitScale = 'auto' | 'bytes' | 'kbytes' | 'mbytes' | 'gbytes' | 'tbytes';

export interface UnitMode {
  raw?: boolean;
  base?: UnitBase;
  scale?: UnitScale;
}

const BINARY = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
const DECIMAL = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'];
const FIXED_DIVS: Record<Exclude<UnitScale, 'auto'>, number> = { bytes: 0, kbytes: 1, mbytes: 2, gbytes: 3, tbytes: 4 };

/** printf("%.2f") of a double: exact binary value, ties to even (as glibc rounds). */
export function fixed2(value: number): string {
  // value is a float (24-bit mantissa), so value * 100 (31 bits) is exact in a double.
  const scaled = value * 100;
  let n = Math.floor(scaled);
  const rest = scaled - n;
  if (rest > 0.5 || (rest === 0.5 && n % 2 !== 0)) n += 1;
  const s = BigInt(n).toString().padStart(3, '0');
  return `${s.slice(0, -2)}.${s.slice(-2)}`;
}

export function prettySize(size: bigint, mode: UnitMode = {}): string {
  if (mode.raw) return size.toString();
  const mult = mode.base === 'decimal' ? 1000n : 1024n;
  const suffix = mode.base === 'decimal' ? DECIMAL : BINARY;
  const scale = mode.scale ?? 'auto';
  let divs = 0;
  let base = mult;
  let last = size;
  if (scale === 'auto') {
    let s = size;
    while (s >= mult) {
      last = s;
      s /= mult;
      divs++;
    }
    if (divs === 0) base = 1n;
  } else {
    divs = FIXED_DIVS[scale];
    base = divs === 0 ? 1n : mult ** BigInt(divs);
  }
  // (float)last_size / base, in single precision as the C code computes it.
  const fraction = Math.fround(Math.fround(Number(last)) / Math.fround(Number(base)));
  return `${fixed2(fraction)}${suffix[divs]}`;
}
