import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { parseImageKey } from '../../../lambda/shared/image-key';
import { storeImages } from '../../../lambda/gateway/image-store';
import { pngBytes } from './support/fixtures';

const s3 = new S3Client({
  region: 'eu-west-1',
  credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
});
const s3Mock = mockClient(s3);
afterAll(() => s3Mock.restore());
beforeEach(() => {
  s3Mock.reset();
  s3Mock.on(PutObjectCommand).resolves({});
});

const now = new Date('2025-06-01T12:00:00.250Z');
const KMS = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';

describe('storeImages', () => {
  it('puts each image under an expiry key with SSE-KMS and returns https URLs that expire with it', async () => {
    const stored: string[] = [];
    const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]);
    const result = await storeImages(
      { s3, bucket: 'img-bucket', ttlSeconds: 900, kmsKeyArn: KMS },
      [pngBytes(), jpeg],
      now,
      (key) => stored.push(key),
    );
    expect(result).toHaveLength(2);
    expect(stored.sort()).toEqual(result.map((r) => r.key).sort());

    const puts = s3Mock.commandCalls(PutObjectCommand).map((c) => c.args[0].input);
    expect(puts.map((p) => p.ContentType).sort()).toEqual(['image/jpeg', 'image/png']);
    for (const put of puts) {
      expect(put).toMatchObject({
        Bucket: 'img-bucket',
        ServerSideEncryption: 'aws:kms',
        SSEKMSKeyId: KMS,
        BucketKeyEnabled: true,
        CacheControl: 'private, no-store',
      });
      expect(put).not.toHaveProperty('Metadata');
      expect(put).not.toHaveProperty('Tagging');
      // 12:00:00.250 + 900 s, rounded up to the second.
      expect(parseImageKey(put.Key as string)?.expiresAtEpochSeconds).toBe(
        Date.parse('2025-06-01T12:15:01Z') / 1000,
      );
    }
    for (const { key, url } of result) {
      const u = new URL(url);
      expect(u.protocol).toBe('https:');
      expect(u.hostname).toBe('img-bucket.s3.eu-west-1.amazonaws.com');
      expect(decodeURIComponent(u.pathname.slice(1))).toBe(key);
      expect(u.searchParams.get('X-Amz-Date')).toBe('20250601T120000Z');
      expect(u.searchParams.get('X-Amz-Expires')).toBe('900');
    }
  });

  it('leaves encryption to the bucket default when no key is configured', async () => {
    await storeImages(
      { s3, bucket: 'img-bucket', ttlSeconds: 300 },
      [pngBytes()],
      now,
      () => undefined,
    );
    const put = s3Mock.commandCalls(PutObjectCommand)[0].args[0].input;
    expect(put).not.toHaveProperty('ServerSideEncryption');
    expect(put).not.toHaveProperty('SSEKMSKeyId');
  });

  it('refuses bytes that are not a known image format', async () => {
    await expect(
      storeImages(
        { s3, bucket: 'b', ttlSeconds: 300 },
        [Buffer.from('GIF89a')],
        now,
        () => undefined,
      ),
    ).rejects.toThrow('Unrecognised image format');
    expect(s3Mock.commandCalls(PutObjectCommand)).toHaveLength(0);
  });

  it('reports every key before its upload, and settles every upload before failing', async () => {
    // The first upload is slow and succeeds; the second fails at once. The
    // failure must not be reported while the first upload is still running,
    // and both keys must be known (either object may exist).
    let slowDone = false;
    s3Mock
      .on(PutObjectCommand)
      .callsFakeOnce(async () => {
        await new Promise((r) => setTimeout(r, 50));
        slowDone = true;
        return {};
      })
      .rejects(new Error('slow down'));
    const stored: string[] = [];
    await expect(
      storeImages({ s3, bucket: 'b', ttlSeconds: 300 }, [pngBytes('a'), pngBytes('b')], now, (k) =>
        stored.push(k),
      ),
    ).rejects.toThrow();
    expect(slowDone).toBe(true);
    expect(stored).toHaveLength(2);
    expect(
      s3Mock
        .commandCalls(PutObjectCommand)
        .map((c) => c.args[0].input.Key)
        .sort(),
    ).toEqual([...stored].sort());
  });
});
