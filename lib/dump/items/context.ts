// What an item builder needs besides the item's own bytes.

import type { Key } from '../../ondisk/key.js';

export interface ItemContext {
  /** --hide-names: names of files, xattrs and their values become null (printed as HIDDEN). */
  hideNames: boolean;
  /** --csum-items: keep every data checksum of EXTENT_CSUM items. */
  csumItems: boolean;
  csumSize: number;
  sectorsize: number;
}

/** One leaf item as it reaches a builder: its key and exactly its bytes. */
export interface RawItem {
  key: Key;
  data: Buffer;
}
