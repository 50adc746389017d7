// Comparing what btrfs-lens shows with what the mounted kernel showed (a fixture's manifest).

import type { EntryInfo } from '../../lib/fs/entry-info.js';
import type { ManifestEntry } from './manifest.js';

/** A manifest entry: what the kernel showed (test/helpers/manifest.ts is its schema). */
export type ManifestEntryLike = ManifestEntry;

const FIELDS = ['type', 'subvol', 'ino', 'mode', 'uid', 'gid', 'size', 'nlink', 'atime', 'mtime', 'ctime', 'otime', 'target', 'rdev', 'xattrs'] as const;

/**
 * The kernel invents the inode it shows for a snapshot's copy of a nested subvolume's entry (inode 2)
 * at lookup time: its mtime and ctime are the moment of that lookup, which no image records.
 */
function exempt(want: ManifestEntryLike, field: string): boolean {
  return want.ino === 2 && (field === 'mtime' || field === 'ctime');
}

function canonical(v: unknown): string {
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    return JSON.stringify(Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1))));
  }
  return JSON.stringify(v ?? null);
}

/** Every difference between `got` and the manifest, as readable lines (empty when they agree). */
export function diffEntries(got: Array<EntryInfo | ManifestEntryLike>, want: ManifestEntryLike[]): string[] {
  const diffs: string[] = [];
  const wanted = new Map(want.map((e) => [e.path, e]));
  const seen = new Set<string>();
  for (const g of got) {
    if (seen.has(g.path)) diffs.push(`${g.path}: listed twice`);
    seen.add(g.path);
    const w = wanted.get(g.path);
    if (!w) {
      diffs.push(`${g.path}: not in the manifest`);
      continue;
    }
    for (const f of FIELDS) {
      if (exempt(w, f)) continue;
      const a = canonical((g as unknown as Record<string, unknown>)[f]);
      const b = canonical((w as unknown as Record<string, unknown>)[f]);
      if (a !== b) diffs.push(`${g.path}: ${f} is ${a}, kernel shows ${b}`);
    }
  }
  for (const p of wanted.keys()) if (!seen.has(p)) diffs.push(`${p}: missing`);
  return diffs;
}

export function assertNoDiffs(diffs: string[], what: string): void {
  if (diffs.length) {
    const shown = diffs.slice(0, 40).join('\n  ');
    throw new Error(`${what}: ${diffs.length} difference(s) from the kernel's manifest:\n  ${shown}${diffs.length > 40 ? '\n  ...' : ''}`);
  }
}
