// The emulation report for people: the policies' counters side by side with what the logical policy
// saves, in percent of what the per-inode policy (today's kernel) does.

import { COUNTER_NAMES, type ReadCounters } from '../cache/counters.js';
import type { EmulationReport } from './emulator.js';

function human(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}

function value(name: keyof ReadCounters, v: number): string {
  return name.endsWith('_bytes') || name.endsWith('_bytes_in') || name.endsWith('_bytes_out') ? human(v) : v.toLocaleString('en-US');
}

export function formatReport(r: EmulationReport, image?: string): string {
  const policies = (['per-inode', 'logical'] as const).filter((p) => r[p]);
  const lines: string[] = [];
  const memory = r.memory_bytes === null ? 'unlimited' : human(r.memory_bytes);
  lines.push(`${image ? `${image}: ` : ''}workload ${r.workload}, ${r.operations.toLocaleString('en-US')} operations, memory ${memory} (${r.reclaim}), readahead ${human(r.readahead_bytes)}, pages of ${r.sectorsize} bytes`);
  const rows: string[][] = [['counter', ...policies, ...(r.savings ? ['savings'] : [])]];
  for (const name of COUNTER_NAMES) {
    const row = [name, ...policies.map((p) => value(name, r[p]![name]))];
    if (r.savings) {
      const s = r.savings[name];
      row.push(s === null || s === undefined ? '' : `${s.toFixed(1)}%`);
    }
    rows.push(row);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  for (const row of rows) lines.push(row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ').trimEnd());
  if (r.savings) lines.push('savings: (per-inode - logical) / per-inode; negative means the logical policy did more');
  return lines.join('\n') + '\n';
}
