/**
 * The config bucket's trust store object, in memory, behind an S3 client mock
 * (aws-sdk-client-mock): GetObject with IfNoneMatch (304), PutObject with
 * IfMatch / IfNoneMatch: '*' (412), ETags that change on every write, and
 * switches to make calls fail.
 */

import {
  GetObjectCommand,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
  type GetObjectCommandInput,
  type PutObjectCommandInput,
} from '@aws-sdk/client-s3';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import { TRUST_STORE_OBJECT_KEY } from '../../lib/core/config-objects';
import { encodeTrustDocument, type TrustDocument } from '../../lambda/shared/trust/trust-document';

export const CONFIG_BUCKET = 'ephemera-config-test';

export interface FakeTrustBucket {
  readonly s3: S3Client;
  readonly mock: AwsClientStub<S3Client>;
  /** The stored object's text and ETag (undefined: no object). */
  object: { text: string; etag: string } | undefined;
  /** Makes every GetObject / PutObject fail like an unreachable S3. */
  failReads: boolean;
  failWrites: boolean;
  /** Run just before a PutObject checks its condition (to simulate a concurrent writer). */
  beforeWrite?: () => void;
  readonly gets: GetObjectCommandInput[];
  readonly puts: PutObjectCommandInput[];
  /** Stores a document as the admin would. */
  put(doc: TrustDocument): void;
  /** Stores raw text. */
  putText(text: string): void;
  clear(): void;
}

const s3Error = (name: string, status: number) =>
  Object.assign(new Error(`${name} (test)`), { name, $metadata: { httpStatusCode: status } });

/** A fake bucket on a new S3 client (or on `s3` when given). */
export function fakeTrustBucket(s3?: S3Client): FakeTrustBucket {
  const client =
    s3 ??
    new S3Client({
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
  const mock = mockClient(client);
  let n = 0;
  const nextEtag = () => `"etag-${++n}"`;
  const fake: FakeTrustBucket = {
    s3: client,
    mock,
    object: undefined,
    failReads: false,
    failWrites: false,
    gets: [],
    puts: [],
    put(doc) {
      fake.putText(encodeTrustDocument(doc));
    },
    putText(text) {
      fake.object = { text, etag: nextEtag() };
    },
    clear() {
      fake.object = undefined;
    },
  };
  mock.on(GetObjectCommand).callsFake(async (input: GetObjectCommandInput) => {
    fake.gets.push(input);
    if (fake.failReads) throw s3Error('ServiceUnavailable', 503);
    if (input.Bucket !== CONFIG_BUCKET || input.Key !== TRUST_STORE_OBJECT_KEY) {
      throw s3Error('AccessDenied', 403);
    }
    const object = fake.object;
    if (!object) {
      throw new NoSuchKey({ message: 'NoSuchKey (test)', $metadata: { httpStatusCode: 404 } });
    }
    if (input.IfNoneMatch !== undefined && input.IfNoneMatch === object.etag) {
      throw s3Error('304', 304); // as the SDK names it (aws-sdk-js-v3#5860)
    }
    const text = object.text;
    return {
      ETag: object.etag,
      ContentLength: Buffer.byteLength(text),
      Body: { transformToString: async () => text },
    };
  });
  mock.on(PutObjectCommand).callsFake(async (input: PutObjectCommandInput) => {
    fake.puts.push(input);
    if (fake.failWrites) throw s3Error('ServiceUnavailable', 503);
    if (input.Bucket !== CONFIG_BUCKET || input.Key !== TRUST_STORE_OBJECT_KEY) {
      throw s3Error('AccessDenied', 403);
    }
    fake.beforeWrite?.();
    const current = fake.object;
    if (input.IfNoneMatch === '*' && current) throw s3Error('PreconditionFailed', 412);
    if (input.IfMatch !== undefined && current?.etag !== input.IfMatch) {
      throw s3Error('PreconditionFailed', 412);
    }
    fake.putText(String(input.Body));
    return { ETag: fake.object!.etag };
  });
  return fake;
}
