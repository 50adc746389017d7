// Times: btrfs stores signed seconds and nanoseconds. Shown as ISO 8601 with all nine digits, which
// Date cannot do, and correct before 1970 (floor division) and after 2106.

export function formatTimeNs(ns: bigint): string {
  let sec = ns / 1_000_000_000n;
  let frac = ns % 1_000_000_000n;
  if (frac < 0n) {
    frac += 1_000_000_000n;
    sec -= 1n;
  }
  const ms = Number(sec) * 1000;
  const date = new Date(ms);
  if (!Number.isFinite(ms) || Number.isNaN(date.getTime())) return `${sec}.${frac.toString().padStart(9, '0')}`;
  const iso = date.toISOString(); // YYYY-MM-DDTHH:MM:SS.000Z, or ±YYYYYY- for far years
  return `${iso.slice(0, iso.length - 5)}.${frac.toString().padStart(9, '0')}Z`;
}
