/**
 * Reads what a LevelDB table file (`.ldb`, `.sst`) holds as LevelDB itself
 * would: its data blocks, with the Snappy-compressed ones decompressed. A
 * compressed block may write a run of bytes seen earlier in the block as a
 * back-reference, so a grep of the raw file can miss a value the table holds;
 * a grep of these blocks cannot.
 *
 * Format: the 48-byte footer at the end holds two block handles (varint
 * offset and size: the metaindex block, then the index block) and the magic
 * number. Each index entry's value is the handle of one data block. Each block
 * is followed by a 5-byte trailer: its compression type (0 none, 1 Snappy) and
 * a CRC.
 */

const MAGIC = Buffer.from([0x57, 0xfb, 0x80, 0x8b, 0x24, 0x75, 0x47, 0xdb]);
const FOOTER = 48;

interface Cursor {
  pos: number;
}

function varint(buf: Buffer, at: Cursor): number {
  let result = 0;
  for (let shift = 0; shift < 35; shift += 7) {
    const byte = buf[at.pos++];
    if (byte === undefined) throw new Error('LevelDB table: truncated varint');
    result += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) return result;
  }
  throw new Error('LevelDB table: varint too long');
}

/** Decompresses a raw Snappy buffer (no framing). */
export function snappyDecompress(src: Buffer): Buffer {
  const at = { pos: 0 };
  const out = Buffer.alloc(varint(src, at));
  let o = 0;
  while (at.pos < src.length) {
    const tag = src[at.pos++];
    if ((tag & 3) === 0) {
      let len = tag >> 2;
      if (len >= 60) {
        const bytes = len - 59;
        len = src.readUIntLE(at.pos, bytes);
        at.pos += bytes;
      }
      len += 1;
      src.copy(out, o, at.pos, at.pos + len);
      at.pos += len;
      o += len;
      continue;
    }
    let len: number;
    let offset: number;
    if ((tag & 3) === 1) {
      len = ((tag >> 2) & 7) + 4;
      offset = ((tag >> 5) << 8) | src[at.pos++];
    } else if ((tag & 3) === 2) {
      len = (tag >> 2) + 1;
      offset = src.readUInt16LE(at.pos);
      at.pos += 2;
    } else {
      len = (tag >> 2) + 1;
      offset = src.readUInt32LE(at.pos);
      at.pos += 4;
    }
    if (offset === 0 || offset > o) throw new Error('Snappy: bad copy offset');
    // Byte by byte: a copy may overlap what it writes.
    for (let i = 0; i < len; i++, o++) out[o] = out[o - offset];
  }
  if (o !== out.length) throw new Error('Snappy: length mismatch');
  return out;
}

function readBlock(file: Buffer, offset: number, size: number): Buffer {
  const body = file.subarray(offset, offset + size);
  const type = file[offset + size];
  if (type === 0) return body;
  if (type === 1) return snappyDecompress(body);
  throw new Error(`LevelDB table: unknown block compression ${type}`);
}

/** The values of a block's entries (shared/unshared key lengths, value length, key, value). */
function blockValues(block: Buffer): Buffer[] {
  const restarts = block.readUInt32LE(block.length - 4);
  const end = block.length - 4 - 4 * restarts;
  const values: Buffer[] = [];
  const at = { pos: 0 };
  while (at.pos < end) {
    varint(block, at); // shared key bytes
    const unshared = varint(block, at);
    const valueLength = varint(block, at);
    at.pos += unshared;
    values.push(block.subarray(at.pos, at.pos + valueLength));
    at.pos += valueLength;
  }
  return values;
}

/** Every data block of a LevelDB table file, decompressed. */
export function tableBlocks(file: Buffer): Buffer[] {
  if (file.length < FOOTER || !file.subarray(file.length - 8).equals(MAGIC)) {
    throw new Error('not a LevelDB table file');
  }
  const at = { pos: file.length - FOOTER };
  varint(file, at); // metaindex offset
  varint(file, at); // metaindex size
  const index = readBlock(file, varint(file, at), varint(file, at));
  return blockValues(index).map((handle) => {
    const h = { pos: 0 };
    return readBlock(file, varint(handle, h), varint(handle, h));
  });
}
