// The dump-tree document: the --json output and the documented contract (this zod schema is its
// source), and the text rendering of each of its parts exactly as btrfs-progs 6.2 prints them.
//
// A document is a list of sections in the order progs prints them. A tree section has a heading
// ("fs tree key (FS_TREE ROOT_ITEM 0)") and the blocks printed under it; -b gives one section of bare
// blocks; -R adds the superblock's backup roots; most modes end with a summary. Messages are what
// progs writes to stderr (damaged blocks, bad arguments), kept with the section they arose in.

import { z } from 'zod';
import { blockSchema, printBlock } from './block.js';
import { keySchema, keyText, u64, u8, uuid } from './common.js';

export const PROGS_VERSION = 'btrfs-progs v6.2';

export const messageSchema = z.strictObject({ level: z.enum(['error', 'warning', 'note']), text: z.string() });
export type DumpMessage = z.infer<typeof messageSchema>;

export const treeSectionSchema = z.strictObject({
  kind: z.literal('tree'),
  /** The tree's name in the heading: "root", "chunk", "log root", "fs", "file", "data reloc", ... */
  label: z.string(),
  /** The ROOT_ITEM key the tree was found under; null for the root, chunk and log root trees. */
  key: keySchema.nullable(),
  /** full: every block (nodes and leaves); roots: only where the root is (-r); extents: only leaves (-e). */
  style: z.enum(['full', 'roots', 'extents']),
  root: z.strictObject({ bytenr: u64, level: u8 }),
  blocks: z.array(blockSchema),
  messages: z.array(messageSchema),
});
export type TreeSection = z.infer<typeof treeSectionSchema>;

export const blocksSectionSchema = z.strictObject({
  kind: z.literal('blocks'),
  blocks: z.array(blockSchema),
  messages: z.array(messageSchema),
});

const backupRootSchema = z.strictObject({
  slot: z.number().int(),
  tree_root: u64,
  tree_root_gen: u64,
  extent_root: u64,
  extent_root_gen: u64,
  chunk_root: u64,
  chunk_root_gen: u64,
  dev_root: u64,
  dev_root_gen: u64,
  csum_root: u64,
  csum_root_gen: u64,
  fs_root: u64,
  fs_root_gen: u64,
  total_bytes: u64,
  bytes_used: u64,
  num_devices: u64,
});
export type BackupRoot = z.infer<typeof backupRootSchema>;

export const backupRootsSectionSchema = z.strictObject({ kind: z.literal('backup_roots'), backups: z.array(backupRootSchema) });
export const summarySectionSchema = z.strictObject({ kind: z.literal('summary'), total_bytes: u64, bytes_used: u64, fsid: uuid });

export const sectionSchema = z.discriminatedUnion('kind', [treeSectionSchema, blocksSectionSchema, backupRootsSectionSchema, summarySectionSchema]);
export type Section = z.infer<typeof sectionSchema>;

export const dumpTreeDocumentSchema = z.strictObject({
  format: z.literal('btrfs-lens dump-tree'),
  version: z.literal(1),
  /** The btrfs-progs release whose text output this document renders to. */
  progs: z.literal(PROGS_VERSION),
  /** The filesystem's sector size: --csum-items checksums cover one sector each from the item's start. */
  sectorsize: z.number().int().positive(),
  sections: z.array(sectionSchema),
  /** Messages that belong to no section (a -t naming a tree that is not there). */
  messages: z.array(messageSchema),
});
export type DumpTreeDocument = z.infer<typeof dumpTreeDocumentSchema>;

/** The heading line of a section, without its newline; undefined for sections that have none. */
export function headingText(sec: Section): string | undefined {
  if (sec.kind !== 'tree') return undefined;
  const where = `${sec.root.bytenr} level ${sec.root.level}`;
  if (sec.key === null) return sec.style === 'roots' ? `${sec.label} tree: ${where}` : `${sec.label} tree`;
  const head = `${sec.label} tree ${keyText(sec.key)}`;
  if (sec.style === 'roots') return `${head} ${where}`;
  // progs prints "tree <key> \n" before a full tree and "tree <key>\n" before -e's leaves.
  return sec.style === 'extents' ? head : `${head} `;
}

export function backupRootsText(backups: BackupRoot[]): string[] {
  const out: string[] = [];
  for (const b of backups) {
    out.push(
      `btrfs root backup slot ${b.slot}`,
      `\ttree root gen ${b.tree_root_gen} block ${b.tree_root}`,
      `\t\textent root gen ${b.extent_root_gen} block ${b.extent_root}`,
      `\t\tchunk root gen ${b.chunk_root_gen} block ${b.chunk_root}`,
      `\t\tdevice root gen ${b.dev_root_gen} block ${b.dev_root}`,
      `\t\tcsum root gen ${b.csum_root_gen} block ${b.csum_root}`,
      `\t\tfs root gen ${b.fs_root_gen} block ${b.fs_root}`,
      `\t\t${b.bytes_used} used ${b.total_bytes} total ${b.num_devices} devices`,
    );
  }
  return out;
}

export function summaryText(s: { total_bytes: string; bytes_used: string; fsid: string }): string[] {
  return [`total bytes ${s.total_bytes}`, `bytes used ${s.bytes_used}`, `uuid ${s.fsid}`];
}

export function messageText(m: DumpMessage): string {
  return m.level === 'error' ? `ERROR: ${m.text}` : m.level === 'warning' ? `WARNING: ${m.text}` : m.text;
}

/**
 * The whole document as progs prints it: stdout as a byte string (one char per byte; write it as
 * latin1), stderr lines separately.
 */
export function renderDumpTree(doc: DumpTreeDocument): { stdout: string; stderr: string[] } {
  const out: string[] = [PROGS_VERSION];
  const err: string[] = doc.messages.map(messageText);
  for (const sec of doc.sections) {
    const head = headingText(sec);
    if (head !== undefined) out.push(head);
    if (sec.kind === 'tree' || sec.kind === 'blocks') {
      for (const b of sec.blocks) {
        const t = printBlock(b, doc.sectorsize);
        out.push(...t.lines);
        err.push(...t.problems);
      }
      err.push(...sec.messages.map(messageText));
    } else if (sec.kind === 'backup_roots') {
      out.push(...backupRootsText(sec.backups));
    } else {
      out.push(...summaryText(sec));
    }
  }
  return { stdout: out.join('\n') + '\n', stderr: err };
}
