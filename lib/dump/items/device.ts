// The device tree's and chunk tree's device items in dumps: DEV_ITEM, DEV_EXTENT, device statistics
// (PERSISTENT_ITEM) and the device replace state (DEV_REPLACE, which progs 6.2 does not print).

import { z } from 'zod';
import { CorruptError } from '../../errors.js';
import { KeyType, ObjectId } from '../../ondisk/constants.js';
import { devExtent } from '../../ondisk/items/dev-extent.js';
import { devItem } from '../../ondisk/items/dev-item.js';
import { decodeDevReplaceItem } from '../../ondisk/items/dev-replace.js';
import { decodeDevStats, DEV_STAT_VALUES_MAX } from '../../ondisk/items/dev-stats.js';
import type { Key } from '../../ondisk/key.js';
import { s, u32, u64, u8, uuid, uuidModel } from '../common.js';
import { objectidName } from '../names.js';

export const devItemBodySchema = z.strictObject({
  kind: z.literal('dev_item'),
  devid: u64,
  total_bytes: u64,
  bytes_used: u64,
  io_align: u32,
  io_width: u32,
  sector_size: u32,
  type: u64,
  generation: u64,
  start_offset: u64,
  dev_group: u32,
  seek_speed: u8,
  bandwidth: u8,
  uuid,
  fsid: uuid,
});
export type DevItemBody = z.infer<typeof devItemBodySchema>;

export const devExtentBodySchema = z.strictObject({
  kind: z.literal('dev_extent'),
  chunk_tree: u64,
  chunk_objectid: u64,
  chunk_offset: u64,
  length: u64,
  chunk_tree_uuid: uuid,
});
export type DevExtentBody = z.infer<typeof devExtentBodySchema>;

/** PERSISTENT_ITEM: for objectid DEV_STATS the counters, in BTRFS_DEV_STAT_* order. */
export const persistentBodySchema = z.strictObject({ kind: z.literal('persistent'), values: z.array(u64).optional() });
export type PersistentBody = z.infer<typeof persistentBodySchema>;

export const devReplaceBodySchema = z.strictObject({
  kind: z.literal('dev_replace'),
  src_devid: u64,
  cursor_left: u64,
  cursor_right: u64,
  cont_reading_from_srcdev_mode: u64,
  replace_state: u64,
  time_started: u64,
  time_stopped: u64,
  num_write_errors: u64,
  num_uncorrectable_read_errors: u64,
});
export type DevReplaceBody = z.infer<typeof devReplaceBodySchema>;

export function buildDevItem(data: Buffer): DevItemBody {
  const d = devItem.decode(data, 0);
  return {
    kind: 'dev_item', devid: s(d.devid), total_bytes: s(d.total_bytes), bytes_used: s(d.bytes_used), io_align: d.io_align, io_width: d.io_width,
    sector_size: d.sector_size, type: s(d.type), generation: s(d.generation), start_offset: s(d.start_offset), dev_group: d.dev_group,
    seek_speed: d.seek_speed, bandwidth: d.bandwidth, uuid: uuidModel(d.uuid), fsid: uuidModel(d.fsid),
  };
}

export function printDevItem(b: DevItemBody): string[] {
  return [
    `\t\tdevid ${b.devid} total_bytes ${b.total_bytes} bytes_used ${b.bytes_used}`,
    `\t\tio_align ${b.io_align} io_width ${b.io_width} sector_size ${b.sector_size} type ${b.type}`,
    `\t\tgeneration ${b.generation} start_offset ${b.start_offset} dev_group ${b.dev_group}`,
    `\t\tseek_speed ${b.seek_speed} bandwidth ${b.bandwidth}`,
    `\t\tuuid ${b.uuid}`,
    `\t\tfsid ${b.fsid}`,
  ];
}

export function buildDevExtent(data: Buffer): DevExtentBody {
  const d = devExtent.decode(data, 0);
  return {
    kind: 'dev_extent', chunk_tree: s(d.chunk_tree), chunk_objectid: s(d.chunk_objectid), chunk_offset: s(d.chunk_offset), length: s(d.length),
    chunk_tree_uuid: uuidModel(d.chunk_tree_uuid),
  };
}

export function printDevExtent(b: DevExtentBody): string[] {
  return [
    `\t\tdev extent chunk_tree ${b.chunk_tree}`,
    `\t\tchunk_objectid ${b.chunk_objectid} chunk_offset ${b.chunk_offset} length ${b.length}`,
    `\t\tchunk_tree_uuid ${b.chunk_tree_uuid}`,
  ];
}

export function buildPersistent(key: Key, data: Buffer): PersistentBody {
  if (key.objectid !== ObjectId.DEV_STATS) return { kind: 'persistent' };
  const values = decodeDevStats(data);
  if (values.length < DEV_STAT_VALUES_MAX) throw new CorruptError(`dev stats item holds ${values.length} counters, fewer than ${DEV_STAT_VALUES_MAX}`);
  return { kind: 'persistent', values: values.map(s) };
}

export function printPersistent(b: PersistentBody, key: Key): string[] {
  const out = [`\t\tpersistent item objectid ${objectidName(key.objectid, KeyType.PERSISTENT_ITEM)} offset ${key.offset}`];
  if (!b.values) {
    out.push(`\t\tunknown persistent item objectid ${key.objectid}`);
    return out;
  }
  const v = b.values;
  out.push('\t\tdevice stats');
  out.push(`\t\twrite_errs ${v[0]} read_errs ${v[1]} flush_errs ${v[2]} corruption_errs ${v[3]} generation ${v[4]}`);
  if (v.length > DEV_STAT_VALUES_MAX) {
    // progs prints this header without a newline, so the first extra counter shares its line.
    let line = `\t\tunknown stats item bytes ${(v.length - DEV_STAT_VALUES_MAX) * 8}`;
    for (let i = DEV_STAT_VALUES_MAX; i < v.length; i++) {
      out.push(`${line}\t\tunknown item ${i} offset ${i * 8} value ${v[i]}`);
      line = '';
    }
  }
  return out;
}

export function buildDevReplace(data: Buffer): DevReplaceBody {
  const d = decodeDevReplaceItem(data);
  return {
    kind: 'dev_replace', src_devid: s(d.src_devid), cursor_left: s(d.cursor_left), cursor_right: s(d.cursor_right),
    cont_reading_from_srcdev_mode: s(d.cont_reading_from_srcdev_mode), replace_state: s(d.replace_state), time_started: s(d.time_started),
    time_stopped: s(d.time_stopped), num_write_errors: s(d.num_write_errors), num_uncorrectable_read_errors: s(d.num_uncorrectable_read_errors),
  };
}
