// CHUNK_ITEM in dumps (chunk tree leaves and the superblock's sys_chunk_array).

import { z } from 'zod';
import { CorruptError } from '../../errors.js';
import { chunkHead, chunkItemSize, stripe } from '../../ondisk/items/chunk.js';
import { s, u16, u32, u64, uuid, uuidModel } from '../common.js';
import { blockGroupFlags } from '../flags.js';

export const chunkBodySchema = z.strictObject({
  kind: z.literal('chunk'),
  length: u64,
  owner: u64,
  stripe_len: u64,
  type: u64,
  io_align: u32,
  io_width: u32,
  sector_size: u32,
  num_stripes: u16,
  sub_stripes: u16,
  stripes: z.array(z.strictObject({ devid: u64, offset: u64, dev_uuid: uuid })),
});
export type ChunkBody = z.infer<typeof chunkBodySchema>;

/** Decode the chunk at `offset`; the item must hold all `num_stripes` stripes. */
export function buildChunk(data: Buffer, offset = 0): ChunkBody {
  const h = chunkHead.decode(data, offset);
  if (h.num_stripes === 0) throw new CorruptError('invalid num_stripes: 0');
  const size = chunkItemSize(h.num_stripes);
  if (offset + size > data.length) throw new CorruptError(`chunk item with ${h.num_stripes} stripes needs ${size} bytes, has ${data.length - offset}`);
  const stripes = [];
  for (let i = 0; i < h.num_stripes; i++) {
    const st = stripe.decode(data, offset + chunkHead.size + i * stripe.size);
    stripes.push({ devid: s(st.devid), offset: s(st.offset), dev_uuid: uuidModel(st.dev_uuid) });
  }
  return {
    kind: 'chunk', length: s(h.length), owner: s(h.owner), stripe_len: s(h.stripe_len), type: s(h.type),
    io_align: h.io_align, io_width: h.io_width, sector_size: h.sector_size, num_stripes: h.num_stripes, sub_stripes: h.sub_stripes, stripes,
  };
}

export function printChunk(b: ChunkBody): string[] {
  const out = [
    `\t\tlength ${b.length} owner ${b.owner} stripe_len ${b.stripe_len} type ${blockGroupFlags(BigInt(b.type))}`,
    `\t\tio_align ${b.io_align} io_width ${b.io_width} sector_size ${b.sector_size}`,
    `\t\tnum_stripes ${b.num_stripes} sub_stripes ${b.sub_stripes}`,
  ];
  b.stripes.forEach((st, i) => out.push(`\t\t\tstripe ${i} devid ${st.devid} offset ${st.offset}`, `\t\t\tdev_uuid ${st.dev_uuid}`));
  return out;
}
