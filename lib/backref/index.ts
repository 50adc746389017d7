// Back references from the extent tree: which files and trees use an extent, as the kernel's backref.c
// finds them, from the image alone.

export { BackrefContext } from './context.js';
export { extentRecordAt, extentRecordContaining, type BackRef, type ExtentRecord } from './extent-record.js';
export { dataRefItems, type DataRefItem } from './data-refs.js';
export { rootsOfBlock } from './roots.js';
export { isDataExtentShared } from './shared.js';
export { logicalResolve, fileRangesOf, type LogicalResolution, type FileRange, type ChunkInfo, type ExtentInfo } from './logical-resolve.js';
export { inodeNames, type InodeName } from './inode-paths.js';
