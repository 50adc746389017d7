// What an open filesystem worked around: damage is never read past in silence. A command prints one
// line per kind when it is done (and `--strict` makes any of them an exit status of 1), so a bad
// DUP copy, a missing RAID1 member or a cut-short image is seen even when every byte asked for could
// still be read.

import { formatUuid } from '../ondisk/uuid.js';
import type { Filesystem } from './filesystem.js';

export interface DamageWarning {
  /** One word for the kind: `bad-copy`, `missing-device`, `truncated`. */
  kind: 'bad-copy' | 'missing-device' | 'truncated';
  message: string;
}

/** Every kind of damage seen so far on `fs`, one warning each. */
export function damageWarnings(fs: Filesystem): DamageWarning[] {
  const out: DamageWarning[] = [];
  for (const d of fs.missingDevices) {
    out.push({ kind: 'missing-device', message: `degraded: devid ${d.devid} (uuid ${formatUuid(d.uuid)}) is missing; reads use the other copies or parity` });
  }
  for (const [devid, dev] of fs.devices.devices) {
    const item = fs.devItems.get(devid);
    const want = item?.total_bytes ?? dev.superblock.dev_item.total_bytes;
    if (BigInt(dev.source.size) < want) {
      out.push({ kind: 'truncated', message: `${dev.source.name} is ${dev.source.size} bytes, but devid ${devid} holds ${want}: the image is cut short, and what lay past its end cannot be read` });
    }
  }
  const around = fs.volume.readAroundCount + fs.blocks.readAround;
  if (around > 0) {
    const first = fs.blocks.problems[0] ?? fs.volume.badCopies[0];
    out.push({ kind: 'bad-copy', message: `read around ${around} bad ${around === 1 ? 'copy' : 'copies'} (another copy or parity served the data); first: ${first?.message ?? 'unknown'}` });
  }
  return out;
}
