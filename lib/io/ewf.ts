// EWF (E01) images as a byte source: the segment files (name.E01, .E02, ... beside the first), each a
// chain of sections; table sections give each chunk's offset and whether it is zlib-compressed;
// stored chunks end in an Adler-32, compressed ones carry zlib's. Chunks are checked as they are read.

import { stat } from 'node:fs/promises';
import { CorruptError, IoError } from '../errors.js';
import { adler32 } from './adler32.js';
import { ByteCache } from './byte-cache.js';
import { headerText, parseAcquisition, type Acquisition } from './ewf-header.js';
import {
  decodeFileHeader, decodeHashSection, decodeSection, decodeTableHeader, decodeVolume, FILE_HEADER_SIZE, hex,
  SECTION_SIZE, TABLE_HEADER_SIZE, type StoredHashes, type Volume,
} from './ewf-sections.js';
import { inflateInto } from './inflate.js';
import { MappedSource, type Run } from './mapped-source.js';
import { FileSource, type ContainerInfo, type ImageSource } from './source.js';

export { EWF_SIGNATURE } from './ewf-sections.js';

/** E01..E99, EAA..EZZ, FAA..ZZZ: the most segment files the naming allows. */
const MAX_SEGMENTS = 14971;
const CACHE_BYTES = 8 * 1024 * 1024;
/** Header sections are small; a larger one is not read for metadata. */
const MAX_HEADER_SECTION = 1024 * 1024;

/** The file name of segment `n` (1-based) of the set whose first segment is `first`. */
export function segmentName(first: string, n: number): string | undefined {
  const m = /^(.*\.)([A-Za-z])(\d\d)$/.exec(first);
  if (!m || n < 1 || n > MAX_SEGMENTS) return undefined;
  const upper = m[2] === m[2]!.toUpperCase();
  let ext: string;
  if (n <= 99) ext = m[2]! + String(n).padStart(2, '0');
  else {
    const i = n - 100;
    const lead = m[2]!.toUpperCase().charCodeAt(0) + Math.floor(i / 676);
    if (lead > 90) return undefined;
    ext = String.fromCharCode(lead, 65 + Math.floor((i % 676) / 26), 65 + (i % 26));
  }
  return m[1]! + (upper ? ext.toUpperCase() : ext.toLowerCase());
}

interface Table {
  segment: number;
  firstChunk: number;
  count: number;
  /** Section offset (for messages) and where its entries start. */
  sectionAt: number;
  entriesAt: number;
  /** The table2 mirror's entries, used when the table's own fail their checksum. */
  mirrorAt?: number;
  base: number;
  /** Where the chunk data of the table's last entry ends. */
  dataEnd: number;
  /** Whether the section has room for the entries' Adler-32. */
  footer: boolean;
}

export interface ChunkLocation {
  index: number;
  segment: string;
  offset: number;
  compressed: boolean;
}

export interface ChunkRead {
  data: Uint8Array;
  location: ChunkLocation;
  /** Why the chunk's checksum says it is damaged (the data is then as stored, or zeros where it would not inflate). */
  problem?: string;
}

export class EwfSource extends MappedSource {
  readonly size: number;
  readonly container: ContainerInfo;
  readonly chunkSize: number;
  readonly chunkCount: number;
  private readonly tableCache = new ByteCache<Buffer>(CACHE_BYTES);
  private readonly chunkCache = new ByteCache<Uint8Array>(CACHE_BYTES);

  private constructor(
    readonly name: string,
    private readonly segments: ImageSource[],
    private readonly tables: Table[],
    volume: Volume,
    readonly hashes: StoredHashes,
    readonly acquisition: Acquisition,
  ) {
    super(segments);
    this.chunkSize = volume.sectorsPerChunk * volume.bytesPerSector;
    this.chunkCount = volume.chunkCount;
    this.size = volume.sectorCount * volume.bytesPerSector;
    const a = acquisition;
    const details: Array<[string, string]> = [];
    const add = (k: string, v: string | undefined) => v !== undefined && details.push([k, v]);
    add('case number', a.caseNumber);
    add('evidence number', a.evidenceNumber);
    add('description', a.description);
    add('examiner', a.examiner);
    add('notes', a.notes);
    add('acquisition date', a.acquired);
    add('system date', a.systemDate);
    add('acquired with', [a.software, a.os].filter(Boolean).join(' on ') || undefined);
    add('chunks', `${volume.chunkCount} of ${this.chunkSize} bytes (${volume.sectorsPerChunk} sectors of ${volume.bytesPerSector})`);
    add('MD5', hashes.md5);
    add('SHA1', hashes.sha1);
    this.container = { format: `EWF (E01, ${segments.length} segment file${segments.length > 1 ? 's' : ''})`, files: segments.map((s) => s.name), details };
  }

  static async open(first: ImageSource, path: string): Promise<EwfSource> {
    const segments: ImageSource[] = [first];
    const tables: Table[] = [];
    let volume: Volume | undefined;
    const hashes: StoredHashes = {};
    let acquisition: Acquisition = {};
    let chunks = 0;
    try {
      for (let n = 1; ; n++) {
        const file = segments[n - 1]!;
        const device = file.name;
        const number = decodeFileHeader(await file.read(0, Math.min(file.size, FILE_HEADER_SIZE)), device);
        if (number !== n) throw new CorruptError(`EWF segment file says it is segment ${number}, expected ${n}`, { device });
        let at = FILE_HEADER_SIZE;
        let end: string | undefined;
        let sectorsEnd: number | undefined;
        for (let guard = 0; guard <= file.size / SECTION_SIZE && end === undefined; guard++) {
          if (at + SECTION_SIZE > file.size) throw new IoError(`EWF segment truncated: section descriptor at ${at} is past the end of the file (${file.size} bytes)`, { device });
          const s = decodeSection(await file.read(at, SECTION_SIZE), at, device);
          const where = { device, physical: BigInt(at) };
          const bodyAt = at + SECTION_SIZE;
          const bodySize = s.size - SECTION_SIZE;
          if (s.type === 'next' || s.type === 'done') {
            end = s.type;
            break;
          }
          if (s.next <= at) throw new CorruptError(`EWF section "${s.type}" points back to ${s.next}`, where);
          if (s.next > file.size || at + s.size > file.size) {
            throw new IoError(`EWF segment truncated: section "${s.type}" at ${at} runs to ${Math.max(s.next, at + s.size)}, past the end of the file (${file.size} bytes)`, { device });
          }
          if (s.size < SECTION_SIZE) throw new CorruptError(`EWF section "${s.type}" of ${s.size} bytes is shorter than its descriptor`, where);
          if (s.type === 'volume' || s.type === 'disk' || (s.type === 'data' && !volume)) {
            volume = decodeVolume(await file.read(bodyAt, Math.min(bodySize, 1052)), device, at);
          } else if (s.type === 'sectors') {
            sectorsEnd = at + s.size;
          } else if (s.type === 'table') {
            if (!volume) throw new CorruptError('EWF table section before any volume section', where);
            if (bodySize < TABLE_HEADER_SIZE) throw new CorruptError(`EWF table section of ${s.size} bytes has no room for its header`, where);
            const h = decodeTableHeader(await file.read(bodyAt, TABLE_HEADER_SIZE), device, bodyAt);
            const room = Math.floor((bodySize - TABLE_HEADER_SIZE) / 4);
            if (h.count < 1 || h.count > room) throw new CorruptError(`EWF table of ${h.count} entries in a section with room for ${room}`, where);
            if (chunks + h.count > volume.chunkCount) throw new CorruptError(`EWF tables list more than the volume's ${volume.chunkCount} chunks`, where);
            tables.push({
              segment: n - 1, firstChunk: chunks, count: h.count, sectionAt: at, entriesAt: bodyAt + TABLE_HEADER_SIZE, base: h.base,
              dataEnd: sectorsEnd ?? at + s.size, footer: room > h.count,
            });
            chunks += h.count;
            sectorsEnd = undefined;
          } else if (s.type === 'table2') {
            const last = tables[tables.length - 1];
            if (last && last.segment === n - 1 && last.mirrorAt === undefined && bodySize >= TABLE_HEADER_SIZE + last.count * 4) last.mirrorAt = bodyAt + TABLE_HEADER_SIZE;
          } else if ((s.type === 'digest' || s.type === 'hash') && bodySize <= 4096) {
            const found = decodeHashSection(s.type, await file.read(bodyAt, bodySize), device, at);
            hashes.md5 ??= found.md5;
            if (found.sha1) hashes.sha1 ??= found.sha1;
          } else if ((s.type === 'header2' || s.type === 'header') && n === 1 && bodySize <= MAX_HEADER_SECTION && !acquisition.caseNumber) {
            const text = headerText(await file.read(bodyAt, bodySize), s.type === 'header2');
            if (text !== undefined) acquisition = { ...parseAcquisition(text), ...acquisition };
          }
          at = s.next;
        }
        if (end === undefined) throw new CorruptError('EWF section chain does not end in a "next" or "done" section', { device });
        if (end === 'done') break;
        const name = segmentName(path, n + 1);
        if (name === undefined) throw new IoError(`EWF segment ${n} ends in "next", but segment ${n + 1} has no name after ${path} (E01 .. EZZ)`, { device });
        if (!(await stat(name).then((st) => st.isFile(), () => false))) {
          throw new IoError(`EWF segment file ${name} is missing (segment ${n} ends in "next")`, { device });
        }
        segments.push(await FileSource.open(name));
      }
      if (!volume) throw new CorruptError('EWF image has no volume section', { device: first.name });
      if (chunks !== volume.chunkCount) {
        throw new CorruptError(`EWF tables list ${chunks} chunks, the volume section says ${volume.chunkCount}: segment files missing or cut short?`, { device: first.name });
      }
    } catch (e) {
      await Promise.all(segments.slice(1).map((s) => s.close()));
      throw e;
    }
    return new EwfSource(first.name, segments, tables, volume, hashes, acquisition);
  }

  protected async locate(position: number, max: number): Promise<Run> {
    const index = Math.floor(position / this.chunkSize);
    const inChunk = position - index * this.chunkSize;
    const data = await this.chunkCache.through(index, async () => {
      const r = await this.readChunk(index);
      if (r.problem) throw new CorruptError(`EWF chunk ${index}: ${r.problem}`, { device: r.location.segment, physical: BigInt(r.location.offset) });
      return r.data;
    });
    return { kind: 'bytes', data, offset: inChunk, length: Math.min(max, data.length - inChunk) };
  }

  /**
   * Chunk `index` decoded, with what its checksum says. Damage in the chunk (a checksum mismatch, a
   * stream that does not inflate) is reported, not thrown; damage in the tables that lead to it is thrown.
   */
  async readChunk(index: number): Promise<ChunkRead> {
    const table = this.tableOf(index);
    const file = this.segments[table.segment]!;
    const entries = await this.entries(table);
    const j = index - table.firstChunk;
    const entry = entries.readUInt32LE(j * 4);
    const offset = table.base + (entry & 0x7fffffff);
    const compressed = entry >>> 31 === 1;
    const end = j + 1 < table.count ? table.base + (entries.readUInt32LE(j * 4 + 4) & 0x7fffffff) : table.dataEnd;
    const location: ChunkLocation = { index, segment: file.name, offset, compressed };
    const length = Math.min(this.chunkSize, this.size - index * this.chunkSize);
    const where = `EWF table at ${table.sectionAt} entry ${j}`;
    const device = { device: file.name, physical: BigInt(offset) };
    const stored = end - offset;
    if (compressed ? stored < 1 || stored > 2 * this.chunkSize + 1024 : stored < length + 4) {
      throw new CorruptError(`${where}: chunk ${index} of ${stored} bytes (${compressed ? 'compressed' : `stored, needs ${length + 4}`})`, device);
    }
    const want = compressed ? stored : length + 4;
    if (offset + want > file.size) throw new IoError(`EWF segment truncated: chunk ${index} at ${offset} (${want} bytes) runs past the end of the file (${file.size} bytes)`, { device: file.name });
    const raw = await file.read(offset, want);
    if (!compressed) {
      const data = raw.subarray(0, length);
      const expect = raw.readUInt32LE(length);
      const actual = adler32(data);
      return expect === actual ? { data, location } : { data, location, problem: `stored chunk Adler-32 mismatch, have ${hex(actual)} expect ${hex(expect)}` };
    }
    const data = new Uint8Array(length);
    const r = inflateInto(raw, data, 'zlib');
    if (r.ended && r.produced === length) return { data, location };
    return { data, location, problem: `zlib chunk ${r.error ?? (r.ended ? `inflates to ${r.produced} bytes, expected ${length}` : `inflates past ${length} bytes`)}` };
  }

  private tableOf(index: number): Table {
    let lo = 0;
    let hi = this.tables.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.tables[mid]!.firstChunk <= index) lo = mid;
      else hi = mid - 1;
    }
    return this.tables[lo]!;
  }

  /** A table's entries, checked against its footer Adler-32, else taken from its table2 mirror. */
  private entries(table: Table): Promise<Buffer> {
    return this.tableCache.through(table.entriesAt * MAX_SEGMENTS + table.segment, async () => {
      const file = this.segments[table.segment]!;
      const bytes = table.count * 4;
      const read = async (at: number) => {
        const b = await file.read(at, bytes + (table.footer ? 4 : 0));
        return !table.footer || adler32(b.subarray(0, bytes)) === b.readUInt32LE(bytes) ? b.subarray(0, bytes) : undefined;
      };
      const own = await read(table.entriesAt);
      if (own) return own;
      const mirror = table.mirrorAt !== undefined ? await read(table.mirrorAt) : undefined;
      if (mirror) return mirror;
      throw new CorruptError(`EWF table at ${table.sectionAt}: entry checksum mismatch${table.mirrorAt !== undefined ? ' in both table and table2' : ''}`, { device: file.name, physical: BigInt(table.sectionAt) });
    });
  }
}
