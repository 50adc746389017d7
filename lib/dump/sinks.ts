// Where dump-tree's output goes: progs' text (streamed), the JSON document (streamed, one block per line,
// so memory stays at one block however large the filesystem), or the document in memory (for tests and
// library callers).

import type { BlockModel } from './block.js';
import {
  backupRootsText, headingText, messageText, PROGS_VERSION, summaryText, type DumpMessage, type DumpTreeDocument, type Section,
} from './document.js';
import type { DumpTreeSink } from './dump-tree.js';
import { printBlock } from './block.js';

/** A writer that may apply backpressure (resolve when the chunk has been taken). */
export type Write = (chunk: string) => void | Promise<void>;

/** Collects everything into a DumpTreeDocument. */
export class DocumentSink implements DumpTreeSink {
  readonly doc: DumpTreeDocument;
  constructor(sectorsize: number) {
    this.doc = { format: 'btrfs-lens dump-tree', version: 1, progs: PROGS_VERSION, sectorsize, sections: [], messages: [] };
  }
  private current(): Section | undefined {
    return this.doc.sections[this.doc.sections.length - 1];
  }
  section(sec: Section): void {
    this.doc.sections.push(sec);
  }
  block(b: BlockModel): void {
    const cur = this.current();
    if (cur?.kind === 'tree' || cur?.kind === 'blocks') cur.blocks.push(b);
    else this.doc.sections.push({ kind: 'blocks', blocks: [b], messages: [] });
  }
  message(m: DumpMessage): void {
    const cur = this.current();
    if (cur?.kind === 'tree' || cur?.kind === 'blocks') cur.messages.push(m);
    else this.doc.messages.push(m);
  }
}

/**
 * progs' text. `out` receives byte strings (one char per byte: write them as latin1, names are raw
 * bytes); `err` receives stderr lines. Call start() before the walk.
 */
export class TextSink implements DumpTreeSink {
  /** Whether anything went to stderr: the CLI turns that into its exit status. */
  problems = 0;
  constructor(private readonly sectorsize: number, private readonly out: Write, private readonly err: (line: string) => void) {}
  async start(): Promise<void> {
    await this.out(`${PROGS_VERSION}\n`);
  }
  async section(sec: Section): Promise<void> {
    const lines: string[] = [];
    const head = headingText(sec);
    if (head !== undefined) lines.push(head);
    if (sec.kind === 'backup_roots') lines.push(...backupRootsText(sec.backups));
    if (sec.kind === 'summary') lines.push(...summaryText(sec));
    if (lines.length) await this.out(lines.join('\n') + '\n');
  }
  async block(b: BlockModel): Promise<void> {
    const t = printBlock(b, this.sectorsize);
    for (const p of t.problems) this.problem(p);
    await this.out(t.lines.join('\n') + '\n');
  }
  message(m: DumpMessage): void {
    this.problem(messageText(m));
  }
  private problem(line: string): void {
    this.problems++;
    this.err(line);
  }
}

/**
 * The JSON document, written as it is produced: one section per line opening, one block per line.
 * A section's messages are written when the section closes; messages outside sections at the end.
 * Call start() before the walk and end() after it.
 */
export class JsonSink implements DumpTreeSink {
  private open: { hasBlocks: boolean; messages: DumpMessage[] } | undefined;
  private sections = 0;
  private readonly loose: DumpMessage[] = [];
  problems = 0;

  constructor(private readonly sectorsize: number, private readonly out: Write) {}

  async start(): Promise<void> {
    const head = { format: 'btrfs-lens dump-tree', version: 1, progs: PROGS_VERSION, sectorsize: this.sectorsize };
    await this.out(`${JSON.stringify(head).slice(0, -1)},"sections":[\n`);
  }

  private async close(): Promise<void> {
    if (!this.open) return;
    await this.out(`${this.open.hasBlocks ? '\n' : ''}],"messages":${JSON.stringify(this.open.messages)}}`);
    this.open = undefined;
  }

  async section(sec: Section): Promise<void> {
    await this.close();
    const sep = this.sections++ ? ',\n' : '';
    if (sec.kind === 'tree' || sec.kind === 'blocks') {
      const { blocks: _blocks, messages: _messages, ...head } = sec;
      await this.out(`${sep}${JSON.stringify(head).slice(0, -1)},"blocks":[`);
      this.open = { hasBlocks: false, messages: [] };
    } else {
      await this.out(`${sep}${JSON.stringify(sec)}`);
    }
  }

  async block(b: BlockModel): Promise<void> {
    if (!this.open) await this.section({ kind: 'blocks', blocks: [], messages: [] });
    await this.out(`${this.open!.hasBlocks ? ',' : ''}\n${JSON.stringify(b)}`);
    this.open!.hasBlocks = true;
  }

  message(m: DumpMessage): void {
    this.problems++;
    (this.open ? this.open.messages : this.loose).push(m);
  }

  async end(): Promise<void> {
    await this.close();
    await this.out(`\n],"messages":${JSON.stringify(this.loose)}}\n`);
  }
}
