// Space and sharing figures as btrfs-progs and compsize compute them, and what sharing is worth to a
// page cache.

export { fiemap, FiemapFlag, type FiemapExtent } from './fiemap.js';
export { du, unionBytes, type DuRow, type DuOptions } from './du.js';
export { compsize, compsizeTypeName, type CompsizeResult, type CompsizeOptions } from './compsize.js';
export { sharing, type SharingReport } from './sharing.js';
export { renderHeatmap } from './heatmap.js';
export { prettySize, type UnitMode } from './units.js';
