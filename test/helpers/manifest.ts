// The golden manifest that sits beside every fixture image (fixtures/<name>/manifest.json). It records
// what the Linux kernel showed for the image mounted read-only; fixtures/README.md explains each field.
import { z } from 'zod';

/** ISO 8601 UTC with exactly nine fraction digits, e.g. 1960-01-01T00:00:00.123456789Z. */
const timestamp = z.string().regex(/^(?:\d{4}|[+-]\d{6})-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/, 'timestamp');
const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'sha256 hex');
const uuid = z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, 'uuid');
const u32 = z.number().int().min(0).max(0xffffffff);
const count = z.number().int().nonnegative();
const absPath = z.string().regex(/^\/(?:[^/\0]+(?:\/[^/\0]+)*)?$/, 'absolute path without trailing slash');

export const entryTypeSchema = z.enum(['file', 'dir', 'symlink', 'fifo', 'chr', 'blk', 'sock']);
export type EntryType = z.infer<typeof entryTypeSchema>;

export const manifestEntrySchema = z.strictObject({
  path: absPath,
  type: entryTypeSchema,
  /** id of the subvolume (tree) holding the inode; 5 is the top level */
  subvol: z.number().int().min(5),
  ino: z.number().int().positive(),
  /** full st_mode (file type bits included) */
  mode: z.number().int().min(0).max(0xffff),
  uid: u32,
  gid: u32,
  size: count,
  nlink: z.number().int().positive(),
  atime: timestamp,
  mtime: timestamp,
  ctime: timestamp,
  /** birth time (statx btime = Btrfs otime) */
  otime: timestamp,
  /** every xattr of every namespace: name -> base64 value */
  xattrs: z.record(z.string(), z.base64()),
  /** regular files only: sha256 of the content */
  sha256: sha256Hex.optional(),
  /** symlinks only */
  target: z.string().optional(),
  /** chr/blk only: [major, minor] */
  rdev: z.tuple([count, count]).optional(),
});
export type ManifestEntry = z.infer<typeof manifestEntrySchema>;

export const deviceSchema = z.strictObject({
  /** gzip'd image file in the fixture folder */
  file: z.string().regex(/^[A-Za-z0-9._-]+\.img\.gz$/),
  devid: z.number().int().positive(),
  /** size in bytes of the decompressed image (the whole disk when partitioned) */
  size: z.number().int().positive(),
  /** sha256 of the decompressed image */
  sha256: sha256Hex,
});

export const partitionSchema = z.strictObject({
  table: z.literal('gpt'),
  number: z.number().int().positive(),
  offset: z.number().int().nonnegative(),
  size: z.number().int().positive(),
});

export const subvolumeSchema = z.strictObject({
  id: z.number().int().min(256),
  /** the subvolume that contains it */
  parent: z.number().int().min(5),
  /** path relative to the top level (subvolume 5), no leading slash */
  path: z.string().regex(/^[^/]/),
  uuid,
  parent_uuid: uuid.nullable(),
  readonly: z.boolean(),
  generation: z.number().int().positive(),
});

export const logTreeOnlySchema = z.strictObject({
  path: absPath,
  type: entryTypeSchema,
  size: count,
  sha256: sha256Hex.optional(),
  target: z.string().optional(),
  change: z.enum(['added', 'modified']),
});

export const manifestSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/),
  description: z.string().min(1),
  commands: z.array(z.string().min(1)).min(1),
  versions: z.strictObject({ kernel: z.string().min(1), 'btrfs-progs': z.string().min(1) }),
  devices: z.array(deviceSchema).min(1),
  partition: partitionSchema.nullable(),
  nodesize: z.number().int().positive(),
  sectorsize: z.number().int().positive(),
  /** as btrfs-progs prints it (dump-super csum_type): crc32c, xxhash64, sha256, blake2 */
  csum_type: z.enum(['crc32c', 'xxhash64', 'sha256', 'blake2']),
  label: z.string(),
  fsid: uuid,
  /** `btrfs subvolume get-default`: 5 unless set */
  default_subvol: z.number().int().min(5).optional(),
  subvolumes: z.array(subvolumeSchema),
  entries: z.array(manifestEntrySchema).min(1),
  /** what only the unreplayed log tree knows (log-tree fixture); empty elsewhere */
  log_tree_only: z.array(logTreeOnlySchema),
});
export type Manifest = z.infer<typeof manifestSchema>;
export type ManifestDevice = z.infer<typeof deviceSchema>;
export type ManifestSubvolume = z.infer<typeof subvolumeSchema>;
export type LogTreeOnlyEntry = z.infer<typeof logTreeOnlySchema>;
