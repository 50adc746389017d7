// The VMDK text descriptor (VMware's "Virtual Disk Format" specification): key=value lines
// (createType, parentCID, ...) and extent lines `ACCESS SECTORS TYPE "FILE" [OFFSET]`.

import { CorruptError } from '../errors.js';

export interface VmdkExtent {
  access: string;
  /** Length in 512-byte sectors. */
  sectors: number;
  type: string;
  file?: string;
  /** FLAT: where the extent starts in its file, in sectors. */
  offset: number;
}

export interface VmdkDescriptor {
  createType: string;
  parentCID: string;
  extents: VmdkExtent[];
}

/** Descriptors are a few hundred bytes; embedded ones get 20 sectors from qemu and VMware. */
export const MAX_DESCRIPTOR = 64 * 1024;
const MAX_EXTENTS = 4096;

export function parseDescriptor(text: string, device: string): VmdkDescriptor {
  const out: VmdkDescriptor = { createType: '', parentCID: 'ffffffff', extents: [] };
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/\0.*$/s, '').trim();
    if (!line || line.startsWith('#')) continue;
    const kv = /^([A-Za-z][\w.]*)\s*=\s*"?([^"]*)"?$/.exec(line);
    if (kv) {
      if (kv[1] === 'createType') out.createType = kv[2]!;
      if (kv[1] === 'parentCID') out.parentCID = kv[2]!.toLowerCase();
      continue;
    }
    const ext = /^(RW|RDONLY|NOACCESS)\s+(\d+)\s+([A-Z]+)(?:\s+"([^"]*)"(?:\s+(\d+))?)?/.exec(line);
    if (!ext) continue;
    const sectors = Number(ext[2]);
    const offset = ext[5] !== undefined ? Number(ext[5]) : 0;
    if (!Number.isSafeInteger(sectors * 512) || !Number.isSafeInteger(offset * 512)) throw new CorruptError(`VMDK extent "${line}": size or offset past 2^53 bytes`, { device });
    if (out.extents.length >= MAX_EXTENTS) throw new CorruptError(`VMDK descriptor lists more than ${MAX_EXTENTS} extents`, { device });
    const e: VmdkExtent = { access: ext[1]!, sectors, type: ext[3]!, offset };
    if (ext[4] !== undefined) e.file = ext[4];
    out.extents.push(e);
  }
  return out;
}
