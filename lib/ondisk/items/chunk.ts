// CHUNK_ITEM: one logical range and the device stripes that hold it. Found in the superblock's
// sys_chunk_array (system chunks, to bootstrap) and in the chunk tree (all chunks).

import { CorruptError } from '../../errors.js';
import { UUID_SIZE } from '../constants.js';
import { bytes, le16, le32, le64, struct } from '../struct.js';

export const stripe = struct('btrfs_stripe', { devid: le64, offset: le64, dev_uuid: bytes(UUID_SIZE) });
export const chunkHead = struct('btrfs_chunk', {
  length: le64,
  owner: le64,
  stripe_len: le64,
  type: le64,
  io_align: le32,
  io_width: le32,
  sector_size: le32,
  num_stripes: le16,
  sub_stripes: le16,
});

export type Stripe = ReturnType<typeof stripe.decode>;

export interface ChunkItem {
  length: bigint;
  owner: bigint;
  stripeLen: bigint;
  type: bigint;
  ioAlign: number;
  ioWidth: number;
  sectorSize: number;
  numStripes: number;
  subStripes: number;
  stripes: Stripe[];
}

/** Size of a chunk item with n stripes (the first stripe is part of struct btrfs_chunk in C). */
export function chunkItemSize(numStripes: number): number {
  return chunkHead.size + numStripes * stripe.size;
}

/** Decode a chunk item at `offset`; returns the item and its byte length. */
export function decodeChunk(data: Buffer, offset = 0): { chunk: ChunkItem; size: number } {
  const h = chunkHead.decode(data, offset);
  if (h.num_stripes === 0) throw new CorruptError('chunk has no stripes');
  const size = chunkItemSize(h.num_stripes);
  if (offset + size > data.length) throw new CorruptError(`chunk with ${h.num_stripes} stripes runs past the item`);
  const stripes: Stripe[] = [];
  for (let i = 0; i < h.num_stripes; i++) stripes.push(stripe.decode(data, offset + chunkHead.size + i * stripe.size));
  return {
    chunk: {
      length: h.length, owner: h.owner, stripeLen: h.stripe_len, type: h.type, ioAlign: h.io_align, ioWidth: h.io_width,
      sectorSize: h.sector_size, numStripes: h.num_stripes, subStripes: h.sub_stripes, stripes,
    },
    size,
  };
}
