// Format dumps: btrfs-progs 6.2's `inspect-internal dump-super` and `dump-tree`, as text identical to
// progs' and as JSON documents whose zod schemas (exported here) are their documentation.

export { dumpTree, type DumpTreeOptions, type DumpTreeSink } from './dump-tree.js';
export { DocumentSink, JsonSink, TextSink, type Write } from './sinks.js';
export {
  dumpTreeDocumentSchema, renderDumpTree, PROGS_VERSION, type DumpMessage, type DumpTreeDocument, type Section, type TreeSection,
} from './document.js';
export { blockSchema, type BlockModel } from './block.js';
export { itemBodySchema, type ItemBody } from './item.js';
export {
  dumpSuper, dumpSuperDocumentSchema, renderDumpSuper, buildSuperblock, superblockModelSchema, type DumpSuperDocument, type DumpSuperOptions,
  type SuperDevice, type SuperblockModel,
} from './dump-super.js';
export { parseTreeId } from './tree-id.js';
export { DumpBlockReader, type Message } from './reader.js';
