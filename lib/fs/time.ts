// Times: btrfs stores signed seconds and nanoseconds. Shown as ISO 8601 with all nine digits, which
// Date cannot do, and correct before 1970 (floor division) and after 2106.

const NS = 1_000_000_000n;
/** The last second formatted: a walk meets the same second many times in a row. */
let lastSec: bigint | undefined;
let lastPrefix = '';

export function formatTimeNs(ns: bigint): string {
  let sec = ns / NS;
  let frac = ns - sec * NS;
  if (frac < 0n) {
    frac += NS;
    sec -= 1n;
  }
  const digits = String(frac).padStart(9, '0');
  if (sec === lastSec) return `${lastPrefix}${digits}Z`;
  const ms = Number(sec) * 1000;
  const date = new Date(ms);
  if (!Number.isFinite(ms) || Number.isNaN(date.getTime())) return `${sec}.${digits}`;
  const iso = date.toISOString(); // YYYY-MM-DDTHH:MM:SS.000Z, or ±YYYYYY- for far years
  lastSec = sec;
  lastPrefix = `${iso.slice(0, iso.length - 4)}`;
  return `${lastPrefix}${digits}Z`;
}
