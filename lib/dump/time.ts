// print_timespec: "sec.nsec (YYYY-MM-DD HH:MM:SS)", the date in the local time zone (progs calls
// localtime_r; set TZ to compare dumps made elsewhere). Seconds are stored signed but printed as u64.

const MAX_DATE_MS = 8.64e15;

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** The strftime("%Y-%m-%d %H:%M:%S") part, or undefined when the instant is outside what Date can hold. */
export function localDateTime(sec: bigint): string | undefined {
  const ms = Number(sec) * 1000;
  if (!Number.isFinite(ms) || Math.abs(ms) > MAX_DATE_MS) return undefined;
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

/** `sec` is the signed on-disk value; nsec the u32. */
export function formatTimespec(sec: bigint, nsec: number): string {
  const unsigned = sec < 0n ? sec + 2n ** 64n : sec;
  // Beyond Date's range localtime_r fails and progs prints whatever was in its buffer; say so plainly.
  return `${unsigned}.${nsec} (${localDateTime(sec) ?? 'out of range'})`;
}
