// The quota tree's items in dumps. QGROUP_RELATION items have no body: the two qgroup ids are the key.

import { z } from 'zod';
import { decodeQgroupInfo, decodeQgroupLimit, decodeQgroupStatus } from '../../ondisk/items/qgroup.js';
import { s, s64, u64 } from '../common.js';
import { qgroupStatusFlags } from '../flags.js';

export const qgroupStatusBodySchema = z.strictObject({
  kind: z.literal('qgroup_status'),
  version: u64,
  generation: u64,
  flags: u64,
  rescan: u64,
  /** Present when the item carries it (kernels with simple quotas write 40-byte items). */
  enable_gen: u64.optional(),
});
export const qgroupInfoBodySchema = z.strictObject({
  kind: z.literal('qgroup_info'),
  generation: u64,
  referenced: u64,
  referenced_compressed: u64,
  exclusive: u64,
  exclusive_compressed: u64,
});
export const qgroupLimitBodySchema = z.strictObject({
  kind: z.literal('qgroup_limit'),
  flags: u64,
  max_referenced: s64,
  max_exclusive: s64,
  rsv_referenced: s64,
  rsv_exclusive: s64,
});
export const qgroupRelationBodySchema = z.strictObject({ kind: z.literal('qgroup_relation') });

export type QgroupStatusBody = z.infer<typeof qgroupStatusBodySchema>;
export type QgroupInfoBody = z.infer<typeof qgroupInfoBodySchema>;
export type QgroupLimitBody = z.infer<typeof qgroupLimitBodySchema>;

export function buildQgroupStatus(data: Buffer): QgroupStatusBody {
  const q = decodeQgroupStatus(data);
  const body: QgroupStatusBody = { kind: 'qgroup_status', version: s(q.version), generation: s(q.generation), flags: s(q.flags), rescan: s(q.rescan) };
  if (q.enableGen !== undefined) body.enable_gen = s(q.enableGen);
  return body;
}

export function printQgroupStatus(b: QgroupStatusBody): string[] {
  return [`\t\tversion ${b.version} generation ${b.generation} flags ${qgroupStatusFlags(BigInt(b.flags))} scan ${b.rescan}`];
}

export function buildQgroupInfo(data: Buffer): QgroupInfoBody {
  const q = decodeQgroupInfo(data);
  return {
    kind: 'qgroup_info', generation: s(q.generation), referenced: s(q.rfer), referenced_compressed: s(q.rfer_cmpr),
    exclusive: s(q.excl), exclusive_compressed: s(q.excl_cmpr),
  };
}

export function printQgroupInfo(b: QgroupInfoBody): string[] {
  return [
    `\t\tgeneration ${b.generation}`,
    `\t\treferenced ${b.referenced} referenced_compressed ${b.referenced_compressed}`,
    `\t\texclusive ${b.exclusive} exclusive_compressed ${b.exclusive_compressed}`,
  ];
}

export function buildQgroupLimit(data: Buffer): QgroupLimitBody {
  const q = decodeQgroupLimit(data);
  return {
    kind: 'qgroup_limit', flags: s(q.flags), max_referenced: s(q.max_rfer), max_exclusive: s(q.max_excl),
    rsv_referenced: s(q.rsv_rfer), rsv_exclusive: s(q.rsv_excl),
  };
}

export function printQgroupLimit(b: QgroupLimitBody): string[] {
  return [
    `\t\tflags ${BigInt(b.flags).toString(16)}`,
    `\t\tmax_referenced ${b.max_referenced} max_exclusive ${b.max_exclusive}`,
    `\t\trsv_referenced ${b.rsv_referenced} rsv_exclusive ${b.rsv_exclusive}`,
  ];
}
