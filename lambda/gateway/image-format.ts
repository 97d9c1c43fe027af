/** Recognises generated image bytes by their signature; nothing else is stored or returned. */

import type { ImageExtension } from '../shared/image-key';

export function sniffImage(bytes: Uint8Array): ImageExtension | undefined {
  if (
    bytes.length >= 8 &&
    bytes[0] === 0x89 &&
    bytes[1] === 0x50 &&
    bytes[2] === 0x4e &&
    bytes[3] === 0x47 &&
    bytes[4] === 0x0d &&
    bytes[5] === 0x0a &&
    bytes[6] === 0x1a &&
    bytes[7] === 0x0a
  ) {
    return 'png';
  }
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff)
    return 'jpeg';
  if (
    bytes.length >= 12 &&
    Buffer.from(bytes.subarray(0, 4)).toString('latin1') === 'RIFF' &&
    Buffer.from(bytes.subarray(8, 12)).toString('latin1') === 'WEBP'
  ) {
    return 'webp';
  }
  return undefined;
}

export const CONTENT_TYPES: Readonly<Record<ImageExtension, string>> = {
  png: 'image/png',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
};

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Decodes a base64 image from an upstream; undefined if it is not base64 of a known image format. */
export function decodeBase64Image(b64: unknown): Buffer | undefined {
  if (typeof b64 !== 'string' || b64.length === 0 || b64.length % 4 !== 0 || !BASE64.test(b64))
    return undefined;
  const bytes = Buffer.from(b64, 'base64');
  return sniffImage(bytes) ? bytes : undefined;
}
