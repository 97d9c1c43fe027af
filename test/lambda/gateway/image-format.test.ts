import { decodeBase64Image, sniffImage } from '../../../lambda/gateway/image-format';
import { pngBytes } from './support/fixtures';

describe('sniffImage', () => {
  it.each([
    ['png', pngBytes()],
    ['jpeg', Buffer.from([0xff, 0xd8, 0xff, 0xdb, 0])],
    ['webp', Buffer.concat([Buffer.from('RIFF'), Buffer.alloc(4), Buffer.from('WEBPVP8 ')])],
    [undefined, Buffer.from('GIF89a...')],
    [undefined, Buffer.from('RIFF\0\0\0\0WAVE')],
    [undefined, Buffer.alloc(0)],
  ])('recognises %s', (ext, bytes) => {
    expect(sniffImage(bytes)).toBe(ext);
  });
});

describe('decodeBase64Image', () => {
  it('decodes base64 of a known image format only', () => {
    expect(decodeBase64Image(pngBytes().toString('base64'))).toEqual(pngBytes());
    expect(decodeBase64Image(Buffer.from('plain text').toString('base64'))).toBeUndefined();
    expect(decodeBase64Image('not base64!')).toBeUndefined();
    expect(decodeBase64Image('abc')).toBeUndefined();
    expect(decodeBase64Image(42)).toBeUndefined();
  });
});
