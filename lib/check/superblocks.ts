// Every superblock copy on every present device: magic, checksum, bytenr, fsid, devid and generation
// against the superblock the filesystem was opened from. A copy the device is too small to hold is
// not a problem (mkfs writes only the copies that fit), as in the kernel's scrub_supers.

import type { Checksummer } from '../checksum/index.js';
import type { Device } from '../io/devices.js';
import { SUPERBLOCK_OFFSETS, SUPERBLOCK_SIZE } from '../ondisk/constants.js';
import { decodeSuperblock, hasMagic, SUPERBLOCK_CSUM_START, validateSuperblock, type SuperBlock } from '../ondisk/superblock.js';
import { formatUuid } from '../ondisk/uuid.js';
import { BtrfsError } from '../errors.js';
import { bareMessage, errorCode, problemFrom, type ProblemLog } from './problem.js';

// Not the log root: an fsync writes the primary superblock alone (the kernel's write_all_supers with
// max_mirrors 1), so backups of the same generation may lack the log tree.
const SAME_FIELDS = [
  'root', 'chunk_root', 'root_level', 'chunk_root_level', 'chunk_root_generation', 'nodesize', 'sectorsize',
  'csum_type', 'num_devices', 'incompat_flags', 'compat_ro_flags', 'sys_chunk_array_size', 'sys_chunk_array',
] as const satisfies ReadonlyArray<keyof SuperBlock>;

function same(a: unknown, b: unknown): boolean {
  return Buffer.isBuffer(a) && Buffer.isBuffer(b) ? a.equals(b) : a === b;
}

export async function checkSuperblocks(devices: Iterable<Device>, reference: SuperBlock, checksummer: Checksummer, log: ProblemLog): Promise<void> {
  for (const dev of devices) {
    for (let i = 0; i < SUPERBLOCK_OFFSETS.length; i++) {
      const at = SUPERBLOCK_OFFSETS[i]!;
      if (at + BigInt(SUPERBLOCK_SIZE) > BigInt(dev.source.size)) continue;
      log.stats.superblocks++;
      const where = { device: dev.source.name, devid: dev.devid, physical: at, mirror: i };
      const bad = (message: string, code = 'EBTRFSCORRUPT') => log.add({ kind: 'superblock', message, code, ...where });
      let buf: Buffer;
      try {
        buf = await dev.source.read(Number(at), SUPERBLOCK_SIZE);
      } catch (e) {
        log.add(problemFrom('superblock', e, where));
        continue;
      }
      if (!hasMagic(buf)) {
        bad(`superblock copy ${i} has no Btrfs magic`);
        continue;
      }
      if (!checksummer.matches(buf.subarray(SUPERBLOCK_CSUM_START), buf, 0)) {
        const have = Buffer.from(checksummer.digest(buf.subarray(SUPERBLOCK_CSUM_START))).toString('hex');
        bad(`superblock copy ${i} checksum mismatch, have ${have} expect ${buf.subarray(0, checksummer.size).toString('hex')}`, 'EBTRFSCSUM');
        continue;
      }
      let sb: SuperBlock;
      try {
        sb = decodeSuperblock(buf);
      } catch (e) {
        log.add({ ...problemFrom('superblock', e, where), code: errorCode(e) });
        continue;
      }
      try {
        validateSuperblock(sb, at, dev.source.name);
      } catch (e) {
        if (!(e instanceof BtrfsError)) throw e;
        bad(`superblock copy ${i}: ${bareMessage(e).replace(/^superblock: /, '')}`, e.code);
        continue;
      }
      if (!sb.fsid.equals(reference.fsid)) bad(`superblock copy ${i} fsid ${formatUuid(sb.fsid)}, expected ${formatUuid(reference.fsid)}`);
      if (sb.dev_item.devid !== dev.devid) bad(`superblock copy ${i} says devid ${sb.dev_item.devid}, the primary says ${dev.devid}`);
      if (sb.generation !== reference.generation) {
        bad(`superblock copy ${i} generation ${sb.generation}, the filesystem is at ${reference.generation}`);
        continue;
      }
      // Written in the same commit, every copy must describe the same filesystem.
      const differs = SAME_FIELDS.filter((f) => !same(sb[f], reference[f]));
      if (differs.length) bad(`superblock copy ${i} differs from the superblock in use in ${differs.join(', ')}`);
    }
  }
}
