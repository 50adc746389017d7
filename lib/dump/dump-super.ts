// dump-super: the superblock copies of each device as btrfs-progs 6.2's `inspect-internal dump-super`
// prints them, computed fields included (whether the checksum, the magic and the device item's fsid
// match). Nothing is validated: a dump must show a damaged superblock as it is.

import { z } from 'zod';
import { loadChecksummer } from '../checksum/index.js';
import type { ImageSource } from '../io/source.js';
import { BTRFS_MAGIC, CSUM_SIZE, IncompatFeature, KeyType, SUPERBLOCK_OFFSETS, SUPERBLOCK_SIZE, SYSTEM_CHUNK_ARRAY_SIZE } from '../ondisk/constants.js';
import { diskKey } from '../ondisk/key.js';
import { chunkHead, chunkItemSize } from '../ondisk/items/chunk.js';
import { superBlock, type SuperBlock } from '../ondisk/superblock.js';
import { hex, keyModel, keySchema, keyText, s, textBytes, textBytesSchema, u16, u32, u64, u8, uuid, uuidModel } from './common.js';
import { PROGS_VERSION } from './document.js';
import { buildChunk, chunkBodySchema, printChunk } from './items/chunk.js';
import { devItemBodySchema } from './items/device.js';

const CSUM_NAMES = ['crc32c', 'xxhash64', 'sha256', 'blake2'];
const CSUM_SIZES = [4, 8, 32, 32];

const backupRootSchema = z.strictObject({
  slot: z.number().int(),
  tree_root: u64, tree_root_gen: u64, tree_root_level: u8,
  chunk_root: u64, chunk_root_gen: u64, chunk_root_level: u8,
  extent_root: u64, extent_root_gen: u64, extent_root_level: u8,
  fs_root: u64, fs_root_gen: u64, fs_root_level: u8,
  dev_root: u64, dev_root_gen: u64, dev_root_level: u8,
  csum_root: u64, csum_root_gen: u64, csum_root_level: u8,
  total_bytes: u64, bytes_used: u64, num_devices: u64,
});
type BackupRootModel = z.infer<typeof backupRootSchema>;

export const superblockModelSchema = z.strictObject({
  csum_type: u16,
  /** null when csum_type is not one Btrfs defines (progs prints INVALID). */
  csum_type_name: z.string().nullable(),
  csum_size: u32,
  /** The stored checksum, csum_size bytes. */
  csum: hex,
  /** Whether it matches bytes 32..4095; null when the type is unknown. */
  csum_match: z.boolean().nullable(),
  bytenr: u64,
  flags: u64,
  /** The 8 magic bytes as stored. */
  magic: hex,
  magic_match: z.boolean(),
  fsid: uuid,
  metadata_uuid: uuid,
  label: textBytesSchema,
  generation: u64,
  root: u64,
  sys_array_size: u32,
  chunk_root_generation: u64,
  root_level: u8,
  chunk_root: u64,
  chunk_root_level: u8,
  log_root: u64,
  log_root_transid: u64,
  log_root_level: u8,
  total_bytes: u64,
  bytes_used: u64,
  sectorsize: u32,
  nodesize: u32,
  leafsize: u32,
  stripesize: u32,
  root_dir: u64,
  num_devices: u64,
  compat_flags: u64,
  compat_ro_flags: u64,
  incompat_flags: u64,
  cache_generation: u64,
  uuid_tree_generation: u64,
  nr_global_roots: u64,
  block_group_root: u64,
  block_group_root_generation: u64,
  block_group_root_level: u8,
  dev_item: devItemBodySchema.omit({ kind: true }),
  /** Whether dev_item.fsid is the filesystem's (metadata) fsid. */
  dev_item_fsid_match: z.boolean(),
  sys_chunk_array: z.strictObject({
    items: z.array(z.strictObject({ key: keySchema, chunk: chunkBodySchema.nullable() })),
    /** Why reading the array stopped early, as progs reports it. */
    error: z.string().optional(),
  }),
  backup_roots: z.array(backupRootSchema),
});
export type SuperblockModel = z.infer<typeof superblockModelSchema>;

export const superCopySchema = z.strictObject({
  bytenr: u64,
  /** ok; absent: the device ends before it; short: it ends inside it; bad_magic: not printed (no --force). */
  state: z.enum(['ok', 'absent', 'short', 'bad_magic']),
  superblock: superblockModelSchema.optional(),
});
export type SuperCopy = z.infer<typeof superCopySchema>;

export const dumpSuperDocumentSchema = z.strictObject({
  format: z.literal('btrfs-lens dump-super'),
  version: z.literal(1),
  progs: z.literal(PROGS_VERSION),
  /** -f: the text shows the sys_chunk_array and the backup roots (the JSON always has them). */
  full: z.boolean(),
  /** -a: every copy of each device; a copy cut short ends the dump. */
  all: z.boolean(),
  devices: z.array(z.strictObject({ device: z.string(), copies: z.array(superCopySchema) })),
});
export type DumpSuperDocument = z.infer<typeof dumpSuperDocumentSchema>;

function sysChunkArray(sb: SuperBlock): SuperblockModel['sys_chunk_array'] {
  const items: SuperblockModel['sys_chunk_array']['items'] = [];
  const size = sb.sys_chunk_array_size;
  if (size > SYSTEM_CHUNK_ARRAY_SIZE) return { items, error: `sys_array_size ${size} shouldn't exceed ${SYSTEM_CHUNK_ARRAY_SIZE} bytes` };
  const arr = sb.sys_chunk_array;
  let at = 0;
  const short = (len: number) => ({ items, error: `sys_array too short to read ${len} bytes at offset ${at}` });
  while (at < size) {
    if (at + diskKey.size > size) return short(diskKey.size);
    const k = diskKey.decode(arr, at);
    at += diskKey.size;
    const entry = { key: keyModel(k), chunk: null as SuperblockModel['sys_chunk_array']['items'][number]['chunk'] };
    items.push(entry);
    if (k.type !== KeyType.CHUNK_ITEM) return { items, error: `unexpected item type ${k.type} in sys_array at offset ${at}` };
    if (at + chunkItemSize(1) > size) return short(chunkItemSize(1));
    const stripes = chunkHead.decode(arr, at).num_stripes;
    if (stripes === 0) return { items, error: `invalid number of stripes ${stripes} in sys_array at offset ${at}` };
    const len = chunkItemSize(stripes);
    if (at + len > size) return short(len);
    entry.chunk = buildChunk(arr.subarray(0, size), at);
    at += len;
  }
  return { items };
}

function backups(sb: SuperBlock): BackupRootModel[] {
  return sb.super_roots.map((b, slot) => ({
    slot,
    tree_root: s(b.tree_root), tree_root_gen: s(b.tree_root_gen), tree_root_level: b.tree_root_level,
    chunk_root: s(b.chunk_root), chunk_root_gen: s(b.chunk_root_gen), chunk_root_level: b.chunk_root_level,
    extent_root: s(b.extent_root), extent_root_gen: s(b.extent_root_gen), extent_root_level: b.extent_root_level,
    fs_root: s(b.fs_root), fs_root_gen: s(b.fs_root_gen), fs_root_level: b.fs_root_level,
    dev_root: s(b.dev_root), dev_root_gen: s(b.dev_root_gen), dev_root_level: b.dev_root_level,
    csum_root: s(b.csum_root), csum_root_gen: s(b.csum_root_gen), csum_root_level: b.csum_root_level,
    total_bytes: s(b.total_bytes), bytes_used: s(b.bytes_used), num_devices: s(b.num_devices),
  }));
}

/** The model of one 4096-byte superblock copy. */
export async function buildSuperblock(buf: Buffer): Promise<SuperblockModel> {
  const sb = superBlock.decode(buf, 0);
  const known = sb.csum_type < CSUM_NAMES.length;
  const csumSize = known ? CSUM_SIZES[sb.csum_type]! : CSUM_SIZE;
  let csumMatch: boolean | null = null;
  if (known) {
    const c = await loadChecksummer(sb.csum_type);
    csumMatch = c.matches(buf.subarray(CSUM_SIZE, SUPERBLOCK_SIZE), buf, 0);
  }
  const hasMetadataUuid = (sb.incompat_flags & IncompatFeature.METADATA_UUID) !== 0n;
  const labelEnd = sb.label.indexOf(0);
  const d = sb.dev_item;
  return {
    csum_type: sb.csum_type,
    csum_type_name: known ? CSUM_NAMES[sb.csum_type]! : null,
    csum_size: csumSize,
    csum: buf.toString('hex', 0, csumSize),
    csum_match: csumMatch,
    bytenr: s(sb.bytenr),
    flags: s(sb.flags),
    magic: buf.toString('hex', superBlock.offsetOf('magic'), superBlock.offsetOf('magic') + 8),
    magic_match: sb.magic === BTRFS_MAGIC,
    fsid: uuidModel(sb.fsid),
    metadata_uuid: uuidModel(sb.metadata_uuid),
    label: textBytes(labelEnd < 0 ? sb.label : sb.label.subarray(0, labelEnd)),
    generation: s(sb.generation), root: s(sb.root), sys_array_size: sb.sys_chunk_array_size, chunk_root_generation: s(sb.chunk_root_generation),
    root_level: sb.root_level, chunk_root: s(sb.chunk_root), chunk_root_level: sb.chunk_root_level, log_root: s(sb.log_root),
    log_root_transid: s(sb.unused_log_root_transid), log_root_level: sb.log_root_level, total_bytes: s(sb.total_bytes), bytes_used: s(sb.bytes_used),
    sectorsize: sb.sectorsize, nodesize: sb.nodesize, leafsize: sb.unused_leafsize, stripesize: sb.stripesize, root_dir: s(sb.root_dir_objectid),
    num_devices: s(sb.num_devices), compat_flags: s(sb.compat_flags), compat_ro_flags: s(sb.compat_ro_flags), incompat_flags: s(sb.incompat_flags),
    cache_generation: s(sb.cache_generation), uuid_tree_generation: s(sb.uuid_tree_generation), nr_global_roots: s(sb.nr_global_roots),
    block_group_root: s(sb.block_group_root), block_group_root_generation: s(sb.block_group_root_generation),
    block_group_root_level: sb.block_group_root_level,
    dev_item: {
      devid: s(d.devid), total_bytes: s(d.total_bytes), bytes_used: s(d.bytes_used), io_align: d.io_align, io_width: d.io_width,
      sector_size: d.sector_size, type: s(d.type), generation: s(d.generation), start_offset: s(d.start_offset), dev_group: d.dev_group,
      seek_speed: d.seek_speed, bandwidth: d.bandwidth, uuid: uuidModel(d.uuid), fsid: uuidModel(d.fsid),
    },
    dev_item_fsid_match: d.fsid.equals(hasMetadataUuid ? sb.metadata_uuid : sb.fsid),
    sys_chunk_array: sysChunkArray(sb),
    backup_roots: backups(sb),
  };
}

export interface DumpSuperOptions {
  /** -f */
  full?: boolean | undefined;
  /** -a: all three copies. */
  all?: boolean | undefined;
  /** -s 0|1|2: this copy (default 0). */
  copy?: number | undefined;
  /** --bytenr: a superblock at this offset instead of a standard copy. */
  bytenr?: bigint | undefined;
  /** -F: print a superblock whose magic is wrong. */
  force?: boolean | undefined;
}

export interface SuperDevice {
  /** As the user named it; printed in each copy's heading. */
  name: string;
  source: ImageSource;
}

async function readCopy(source: ImageSource, bytenr: bigint, force: boolean): Promise<SuperCopy> {
  const size = BigInt(source.size);
  const copy: SuperCopy = { bytenr: s(bytenr), state: 'ok' };
  if (bytenr >= size) return { ...copy, state: 'absent' };
  if (bytenr + BigInt(SUPERBLOCK_SIZE) > size) return { ...copy, state: 'short' };
  const buf = await source.read(Number(bytenr), SUPERBLOCK_SIZE);
  const model = await buildSuperblock(buf);
  if (!model.magic_match && !force) return { ...copy, state: 'bad_magic' };
  return { ...copy, superblock: model };
}

export async function dumpSuper(devices: SuperDevice[], opts: DumpSuperOptions): Promise<DumpSuperDocument> {
  const all = !!opts.all;
  const doc: DumpSuperDocument = { format: 'btrfs-lens dump-super', version: 1, progs: PROGS_VERSION, full: !!opts.full, all, devices: [] };
  const single = opts.bytenr ?? SUPERBLOCK_OFFSETS[opts.copy ?? 0]!;
  for (const dev of devices) {
    const entry = { device: dev.name, copies: [] as SuperCopy[] };
    doc.devices.push(entry);
    for (const bytenr of all ? SUPERBLOCK_OFFSETS : [single]) {
      const copy = await readCopy(dev.source, bytenr, !!opts.force);
      entry.copies.push(copy);
      // progs stops the whole dump at a copy it could only partly read, in -a mode.
      if (all && copy.state === 'short') return doc;
    }
  }
  return doc;
}

const SUPER_FLAGS: Array<[bigint, string]> = [
  [1n << 0n, 'WRITTEN'], [1n << 1n, 'RELOC'], [1n << 35n, 'CHANGING_FSID'], [1n << 32n, 'SEEDING'], [1n << 33n, 'METADUMP'], [1n << 34n, 'METADUMP_V2'],
];
const SUPER_FLAGS_SUPP = SUPER_FLAGS.reduce((m, [b]) => m | b, 0n);
const COMPAT_RO_FLAGS: Array<[bigint, string]> = [[1n << 0n, 'FREE_SPACE_TREE'], [1n << 1n, 'FREE_SPACE_TREE_VALID'], [1n << 3n, 'BLOCK_GROUP_TREE']];
/** What a progs 6.2 build without experimental features supports (verity is supported but unnamed). */
const COMPAT_RO_SUPP = (1n << 0n) | (1n << 1n) | (1n << 2n);
const INCOMPAT_FLAGS: Array<[bigint, string]> = [
  [IncompatFeature.MIXED_BACKREF, 'MIXED_BACKREF'], [IncompatFeature.DEFAULT_SUBVOL, 'DEFAULT_SUBVOL'], [IncompatFeature.MIXED_GROUPS, 'MIXED_GROUPS'],
  [IncompatFeature.COMPRESS_LZO, 'COMPRESS_LZO'], [IncompatFeature.COMPRESS_ZSTD, 'COMPRESS_ZSTD'], [IncompatFeature.BIG_METADATA, 'BIG_METADATA'],
  [IncompatFeature.EXTENDED_IREF, 'EXTENDED_IREF'], [IncompatFeature.RAID56, 'RAID56'], [IncompatFeature.SKINNY_METADATA, 'SKINNY_METADATA'],
  [IncompatFeature.NO_HOLES, 'NO_HOLES'], [IncompatFeature.METADATA_UUID, 'METADATA_UUID'], [IncompatFeature.RAID1C34, 'RAID1C34'],
  [IncompatFeature.ZONED, 'ZONED'], [IncompatFeature.EXTENT_TREE_V2, 'EXTENT_TREE_V2'],
];
const INCOMPAT_SUPP = INCOMPAT_FLAGS.filter(([b]) => b !== IncompatFeature.EXTENT_TREE_V2).reduce((m, [b]) => m | b, 0n);

/** __print_readable_flag: "\t\t\t( A |\n\t\t\t  B )", unknown bits last. */
function readableFlags(flags: bigint, table: Array<[bigint, string]>, supported: bigint): string[] {
  if (!flags) return [];
  const names: string[] = [];
  for (const [bit, name] of table) if (flags & supported && flags & bit) names.push(`${name} `);
  const unknown = flags & ~supported;
  if (unknown) names.push(`unknown flag: 0x${unknown.toString(16)} `);
  const text = `\t\t\t( ${names.join('|\n\t\t\t  ')})`;
  return text.split('\n');
}

function isprint(byte: number): boolean {
  return byte >= 0x20 && byte < 0x7f;
}

function printable(b: Buffer): string {
  let out = '';
  for (const byte of b) out += isprint(byte) ? String.fromCharCode(byte) : '.';
  return out;
}

function hex0x(v: string): string {
  return `0x${BigInt(v).toString(16)}`;
}

/** dump_superblock's lines for one copy. */
export function superblockText(m: SuperblockModel, full: boolean): string[] {
  const incompat = BigInt(m.incompat_flags);
  const csumVerdict = m.csum_match === null ? ' [UNKNOWN CSUM TYPE OR SIZE]' : m.csum_match ? ' [match]' : " [DON'T MATCH]";
  const label = m.label.hex !== undefined ? Buffer.from(m.label.hex, 'hex') : Buffer.from(m.label.text ?? '', 'utf8');
  const d = m.dev_item;
  const out = [
    `csum_type\t\t${m.csum_type} (${m.csum_type_name ?? 'INVALID'})`,
    `csum_size\t\t${m.csum_size}`,
    `csum\t\t\t0x${m.csum}${csumVerdict}`,
    `bytenr\t\t\t${m.bytenr}`,
    `flags\t\t\t${hex0x(m.flags)}`,
    ...readableFlags(BigInt(m.flags), SUPER_FLAGS, SUPER_FLAGS_SUPP),
    `magic\t\t\t${printable(Buffer.from(m.magic, 'hex'))}${m.magic_match ? ' [match]' : " [DON'T MATCH]"}`,
    `fsid\t\t\t${m.fsid}`,
    `metadata_uuid\t\t${incompat & IncompatFeature.METADATA_UUID ? m.metadata_uuid : m.fsid}`,
    `label\t\t\t${printable(label)}`,
    `generation\t\t${m.generation}`,
    `root\t\t\t${m.root}`,
    `sys_array_size\t\t${m.sys_array_size}`,
    `chunk_root_generation\t${m.chunk_root_generation}`,
    `root_level\t\t${m.root_level}`,
    `chunk_root\t\t${m.chunk_root}`,
    `chunk_root_level\t${m.chunk_root_level}`,
    `log_root\t\t${m.log_root}`,
    `log_root_transid (deprecated)\t${m.log_root_transid}`,
    `log_root_level\t\t${m.log_root_level}`,
    `total_bytes\t\t${m.total_bytes}`,
    `bytes_used\t\t${m.bytes_used}`,
    `sectorsize\t\t${m.sectorsize}`,
    `nodesize\t\t${m.nodesize}`,
    `leafsize (deprecated)\t${m.leafsize}`,
    `stripesize\t\t${m.stripesize}`,
    `root_dir\t\t${m.root_dir}`,
    `num_devices\t\t${m.num_devices}`,
    `compat_flags\t\t${hex0x(m.compat_flags)}`,
    `compat_ro_flags\t\t${hex0x(m.compat_ro_flags)}`,
    ...readableFlags(BigInt(m.compat_ro_flags), COMPAT_RO_FLAGS, COMPAT_RO_SUPP),
    `incompat_flags\t\t${hex0x(m.incompat_flags)}`,
    ...readableFlags(incompat, INCOMPAT_FLAGS, INCOMPAT_SUPP),
    `cache_generation\t${m.cache_generation}`,
    `uuid_tree_generation\t${m.uuid_tree_generation}`,
    `dev_item.uuid\t\t${d.uuid}`,
    `dev_item.fsid\t\t${d.fsid} ${m.dev_item_fsid_match ? '[match]' : "[DON'T MATCH]"}`,
    `dev_item.type\t\t${d.type}`,
    `dev_item.total_bytes\t${d.total_bytes}`,
    `dev_item.bytes_used\t${d.bytes_used}`,
    `dev_item.io_align\t${d.io_align}`,
    `dev_item.io_width\t${d.io_width}`,
    `dev_item.sector_size\t${d.sector_size}`,
    `dev_item.devid\t\t${d.devid}`,
    `dev_item.dev_group\t${d.dev_group}`,
    `dev_item.seek_speed\t${d.seek_speed}`,
    `dev_item.bandwidth\t${d.bandwidth}`,
    `dev_item.generation\t${d.generation}`,
  ];
  if (!full) return out;
  out.push(`sys_chunk_array[${SYSTEM_CHUNK_ARRAY_SIZE}]:`);
  m.sys_chunk_array.items.forEach((it, i) => {
    out.push(`\titem ${i} ${keyText(it.key)}`);
    if (it.chunk) out.push(...printChunk(it.chunk));
  });
  out.push('backup_roots[4]:');
  const v2 = (incompat & IncompatFeature.EXTENT_TREE_V2) !== 0n;
  for (const b of m.backup_roots) {
    if (b.tree_root === '0' && b.tree_root_gen === '0') continue;
    out.push(
      `\tbackup ${b.slot}:`,
      `\t\tbackup_tree_root:\t${b.tree_root}\tgen: ${b.tree_root_gen}\tlevel: ${b.tree_root_level}`,
      `\t\tbackup_chunk_root:\t${b.chunk_root}\tgen: ${b.chunk_root_gen}\tlevel: ${b.chunk_root_level}`,
      `\t\t${v2 ? 'backup_block_group_root' : 'backup_extent_root'}:\t${b.extent_root}\tgen: ${b.extent_root_gen}\tlevel: ${b.extent_root_level}`,
      `\t\tbackup_fs_root:\t\t${b.fs_root}\tgen: ${b.fs_root_gen}\tlevel: ${b.fs_root_level}`,
      `\t\tbackup_dev_root:\t${b.dev_root}\tgen: ${b.dev_root_gen}\tlevel: ${b.dev_root_level}`,
      `\t\tcsum_root:\t${b.csum_root}\tgen: ${b.csum_root_gen}\tlevel: ${b.csum_root_level}`,
      `\t\tbackup_total_bytes:\t${b.total_bytes}`,
      `\t\tbackup_bytes_used:\t${b.bytes_used}`,
      `\t\tbackup_num_devices:\t${b.num_devices}`,
      '',
    );
  }
  return out;
}

/** The document as progs prints it: stdout as a byte string, stderr lines, and progs' exit status. */
export function renderDumpSuper(doc: DumpSuperDocument): { stdout: string; stderr: string[]; status: number } {
  let out = '';
  const err: string[] = [];
  for (const dev of doc.devices) {
    for (const c of dev.copies) {
      if (c.state === 'short') {
        err.push(`ERROR: failed to read the superblock on ${dev.device} at ${c.bytenr}`);
        if (doc.all) return { stdout: out, stderr: err, status: 1 };
        out += '\n';
        continue;
      }
      if (c.state !== 'absent') {
        out += `superblock: bytenr=${c.bytenr}, device=${dev.device}\n`;
        out += '---------------------------------------------------------\n';
        if (c.superblock) out += superblockText(c.superblock, doc.full).map((l) => `${l}\n`).join('');
        else err.push(`ERROR: bad magic on superblock on ${dev.device} at ${c.bytenr} (use --force to dump it anyway)`);
        if (c.superblock?.sys_chunk_array.error && doc.full) err.push(`ERROR: ${c.superblock.sys_chunk_array.error}`);
      }
      out += '\n';
    }
  }
  return { stdout: out, stderr: err, status: 0 };
}
