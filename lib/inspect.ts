// Second entry point, for tooling: the on-disk layer beneath the fs-like API — superblocks, the chunk
// map, raw tree walks and item decoders.

export { Filesystem, type FilesystemOptions } from './fs/filesystem.js';
export { assembleDevices, openFilesystemSource, readSuperblock, type Device, type DeviceSet } from './io/devices.js';
export { FileSource, BufferSource, SliceSource, type ImageSource } from './io/source.js';
export { readPartitionTable, type Partition, type PartitionTable } from './io/partition.js';
export { decodeSuperblock, validateSuperblock, labelOf, type SuperBlock } from './ondisk/superblock.js';
export { parseTreeBlock, itemData, type TreeBlock, type LeafItem, type KeyPtr } from './ondisk/node.js';
export { checkTreeBlock } from './ondisk/check.js';
export { compareKeys, formatKey, key, type Key } from './ondisk/key.js';
export * from './ondisk/constants.js';
export { decodeInodeItem, type InodeItem } from './ondisk/items/inode-item.js';
export { decodeInodeRefs, decodeInodeExtrefs, type InodeRef } from './ondisk/items/inode-ref.js';
export { decodeDirItems, type DirEntry } from './ondisk/items/dir-item.js';
export { decodeFileExtent, type FileExtent } from './ondisk/items/file-extent.js';
export { decodeRootItem, decodeRootRef, type RootItem, type RootRef } from './ondisk/items/root-item.js';
export { decodeChunk, type ChunkItem } from './ondisk/items/chunk.js';
export { decodeExtentItem, type ExtentItem, type ExtentRef } from './ondisk/items/extent-item.js';
export { decodeBlockGroupItem } from './ondisk/items/block-group.js';
export { ChunkMap, type MappedChunk } from './volume/chunk-map.js';
export { Volume } from './volume/volume.js';
export { Tree, type TreeRoot, type TreeItem } from './tree/tree.js';
export { BlockReader } from './tree/block-reader.js';
export { loadChecksummer, type Checksummer } from './checksum/index.js';
export { loadDecompressor, type Decompressor } from './compression/index.js';
export { fsInfo, type FsInfo } from './fs/info.js';
export { extentMap, physicalRuns, type ExtentMapEntry } from './fs/extent-map.js';
export { walk, type WalkEntry } from './fs/walk.js';
export { entryInfo, type EntryInfo } from './fs/entry-info.js';
export * as dump from './dump/index.js';
export * as backref from './backref/index.js';
export * as usage from './usage/index.js';
