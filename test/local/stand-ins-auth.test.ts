/**
 * The local stand-ins (DynamoDB and S3 in `local/stores.ts`, KMS in
 * `local/kms.ts`) serve only the process that started them: every request
 * must be signed (SigV4) with the random credentials of that start. A request
 * that is unsigned, signed with other credentials, changed after signing, too
 * old, or a presigned URL past its expiry is answered with the service's own
 * error and never reaches the backend (its write has no effect). The S3
 * stand-in also honours If-None-Match / If-Match on writes, atomically.
 */

import { createHash, randomBytes } from 'node:crypto';
import {
  DynamoDBClient,
  GetItemCommand,
  ListTablesCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { GenerateMacCommand, KMSClient } from '@aws-sdk/client-kms';
import {
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { S3TrustStore, TrustStoreConflict } from '../../lambda/shared/trust/trust-source';
import { DEFAULT_TRUST } from '../../lambda/shared/trust/trust-document';
import { ensureLocalCertificate, type LocalCertificate } from '../../local/certificate';
import { startLocalKms, type LocalKms } from '../../local/kms';
import { newLocalCredentials } from '../../local/sigv4';
import {
  LOCAL_REGION,
  localS3Client,
  startLocalStores,
  type LocalCredentials,
  type LocalStores,
} from '../../local/stores';
import { sendRaw, sendSigned, type RawAnswer } from './support/signed-request';

const run = randomBytes(4).toString('hex');
const JSON_10 = 'application/x-amz-json-1.0';

let cert: LocalCertificate;
let stores: LocalStores;
let kms: LocalKms;
const clients: { destroy(): void }[] = [];

beforeAll(async () => {
  // HTTPS for S3, as local mode serves it (presigned URLs are https://).
  cert = await ensureLocalCertificate();
  stores = await startLocalStores({
    inMemory: true,
    s3Tls: { cert: cert.certPem, key: cert.keyPem, ca: cert.caCertPem },
  });
  kms = await startLocalKms({ credentials: stores.credentials });
}, 60_000);

afterAll(async () => {
  for (const client of clients) client.destroy();
  await kms?.stop();
  await stores?.stop();
  cert?.dispose();
});

/** Credentials with this start's key id and another secret. */
const wrongSecret = (): LocalCredentials => ({
  accessKeyId: stores.credentials.accessKeyId,
  secretAccessKey: newLocalCredentials().secretAccessKey,
});

const ddbWith = (credentials: LocalCredentials, extra: object = {}) => {
  const client = new DynamoDBClient({
    endpoint: stores.ddbEndpoint,
    region: LOCAL_REGION,
    credentials,
    maxAttempts: 1,
    ...extra,
  });
  clients.push(client);
  return client;
};
const s3With = (credentials: LocalCredentials): S3Client => {
  const client = localS3Client(stores.s3Endpoint, credentials, cert.caCertPem);
  clients.push(client);
  return client;
};
const kmsWith = (credentials: LocalCredentials) => {
  const client = new KMSClient({
    endpoint: kms.endpoint,
    region: LOCAL_REGION,
    credentials,
    maxAttempts: 1,
  });
  clients.push(client);
  return client;
};

const jsonType = (answer: RawAnswer) =>
  String((JSON.parse(answer.body) as { __type?: string }).__type);
const xmlCode = (answer: RawAnswer) => /<Code>([^<]*)<\/Code>/.exec(answer.body)?.[1];

describe('credentials', () => {
  test('each start makes its own random credentials, none of them a fixed value', async () => {
    const other = await startLocalStores({ inMemory: true });
    try {
      expect(other.credentials.accessKeyId).not.toBe(stores.credentials.accessKeyId);
      expect(other.credentials.secretAccessKey).not.toBe(stores.credentials.secretAccessKey);
      expect(stores.credentials.accessKeyId).toMatch(/^[A-Z0-9]{20}$/);
      expect(stores.credentials.secretAccessKey.length).toBeGreaterThanOrEqual(40);
      // One start's credentials do not open another's stores.
      const client = new DynamoDBClient({
        endpoint: other.ddbEndpoint,
        region: LOCAL_REGION,
        credentials: stores.credentials,
        maxAttempts: 1,
      });
      await expect(client.send(new ListTablesCommand({}))).rejects.toMatchObject({
        name: 'UnrecognizedClientException',
      });
      client.destroy();
    } finally {
      await other.stop();
    }
  });
});

describe('DynamoDB stand-in', () => {
  const table = () => stores.names.keyTable;
  const item = (id: string) => ({ key_id: { S: id }, note: { S: `note-${id}` } });
  const putBody = (id: string) => JSON.stringify({ TableName: table(), Item: item(id) });
  const exists = async (id: string) =>
    (await stores.ddb.send(new GetItemCommand({ TableName: table(), Key: { key_id: { S: id } } })))
      .Item !== undefined;
  const target = { 'content-type': JSON_10, 'x-amz-target': 'DynamoDB_20120810.PutItem' };

  test('the per-run credentials work', async () => {
    const id = `ok-${run}`;
    await ddbWith(stores.credentials).send(
      new PutItemCommand({ TableName: table(), Item: item(id) }),
    );
    expect(await exists(id)).toBe(true);
  });

  test('an unsigned request is MissingAuthenticationTokenException and writes nothing', async () => {
    const id = `unsigned-${run}`;
    const answer = await sendRaw(`${stores.ddbEndpoint}/`, {
      method: 'POST',
      headers: target,
      body: putBody(id),
    });
    expect(answer.status).toBe(400);
    expect(jsonType(answer)).toBe('com.amazon.coral.service#MissingAuthenticationTokenException');
    expect(answer.body).not.toContain(id);
    expect(await exists(id)).toBe(false);
  });

  test('other credentials are UnrecognizedClientException; a wrong secret is InvalidSignatureException', async () => {
    const id = `forged-${run}`;
    const put = new PutItemCommand({ TableName: table(), Item: item(id) });
    await expect(ddbWith(newLocalCredentials()).send(put)).rejects.toMatchObject({
      name: 'UnrecognizedClientException',
      $metadata: { httpStatusCode: 400 },
    });
    await expect(ddbWith(wrongSecret()).send(put)).rejects.toMatchObject({
      name: 'InvalidSignatureException',
      $metadata: { httpStatusCode: 400 },
    });
    // The S3RVER constant the stand-ins used to take.
    const fixed = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
    await expect(ddbWith(fixed).send(put)).rejects.toMatchObject({
      name: 'UnrecognizedClientException',
    });
    expect(await exists(id)).toBe(false);
  });

  test('a body changed after signing is InvalidSignatureException and writes neither item', async () => {
    const signedId = `signed-${run}`;
    const swappedId = `swappd-${run}`; // same length: only the bytes differ
    const answer = await sendSigned({
      endpoint: stores.ddbEndpoint,
      service: 'dynamodb',
      credentials: stores.credentials,
      headers: target,
      body: putBody(signedId),
      tamper: ({ headers }) => ({ headers, body: Buffer.from(putBody(swappedId)) }),
    });
    expect(answer.status).toBe(400);
    expect(jsonType(answer)).toBe('com.amazon.coral.service#InvalidSignatureException');
    expect(await exists(signedId)).toBe(false);
    expect(await exists(swappedId)).toBe(false);

    // The same request, untouched, goes through: the refusal was the change.
    const intact = await sendSigned({
      endpoint: stores.ddbEndpoint,
      service: 'dynamodb',
      credentials: stores.credentials,
      headers: target,
      body: putBody(signedId),
    });
    expect(intact.status).toBe(200);
    expect(await exists(signedId)).toBe(true);
  });

  test('a signed header changed after signing is refused', async () => {
    const answer = await sendSigned({
      endpoint: stores.ddbEndpoint,
      service: 'dynamodb',
      credentials: stores.credentials,
      headers: { 'content-type': JSON_10, 'x-amz-target': 'DynamoDB_20120810.ListTables' },
      body: '{}',
      tamper: ({ headers, body }) => ({
        headers: { ...headers, 'x-amz-target': 'DynamoDB_20120810.DeleteTable' },
        body,
      }),
    });
    expect(answer.status).toBe(400);
    expect(jsonType(answer)).toBe('com.amazon.coral.service#InvalidSignatureException');
  });

  test('a signature made more than 15 minutes off the clock is refused', async () => {
    const id = `late-${run}`;
    const late = ddbWith(stores.credentials, { systemClockOffset: -20 * 60_000 });
    await expect(
      late.send(new PutItemCommand({ TableName: table(), Item: item(id) })),
    ).rejects.toMatchObject({ name: 'InvalidSignatureException' });
    expect(await exists(id)).toBe(false);
  });
});

describe('S3 stand-in', () => {
  const bucket = () => stores.names.imageBucket;
  const body = async (key: string) => {
    const out = await stores.s3.send(new GetObjectCommand({ Bucket: bucket(), Key: key }));
    return out.Body!.transformToString();
  };
  const exists = (key: string) =>
    stores.s3.send(new HeadObjectCommand({ Bucket: bucket(), Key: key })).then(
      () => true,
      (err: { $metadata?: { httpStatusCode?: number } }) => {
        if (err.$metadata?.httpStatusCode === 404) return false;
        throw err;
      },
    );
  const put = (key: string, text: string, extra: object = {}) =>
    stores.s3.send(new PutObjectCommand({ Bucket: bucket(), Key: key, Body: text, ...extra }));
  const path = (key: string) => `/${bucket()}/${key}`;

  test('the per-run credentials work, over HTTPS', async () => {
    expect(stores.s3Endpoint).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    await put(`ok-${run}`, 'hello');
    expect(await body(`ok-${run}`)).toBe('hello');
  });

  test('an anonymous request is 403 AccessDenied: it neither writes nor reads', async () => {
    const key = `anonymous-${run}`;
    const write = await sendRaw(`${stores.s3Endpoint}${path(key)}`, {
      method: 'PUT',
      body: 'from another process',
      ca: cert.caCertPem,
    });
    expect(write.status).toBe(403);
    expect(xmlCode(write)).toBe('AccessDenied');
    expect(await exists(key)).toBe(false);

    await put(`secret-${run}`, `secret content ${run}`);
    const read = await sendRaw(`${stores.s3Endpoint}${path(`secret-${run}`)}`, {
      ca: cert.caCertPem,
    });
    expect(read.status).toBe(403);
    expect(xmlCode(read)).toBe('AccessDenied');
    expect(read.body).not.toContain(`secret content ${run}`);
  });

  test('other credentials are InvalidAccessKeyId; a wrong secret is SignatureDoesNotMatch', async () => {
    const key = `forged-${run}`;
    const command = new PutObjectCommand({ Bucket: bucket(), Key: key, Body: 'x' });
    await expect(s3With(newLocalCredentials()).send(command)).rejects.toMatchObject({
      name: 'InvalidAccessKeyId',
      $metadata: { httpStatusCode: 403 },
    });
    await expect(s3With(wrongSecret()).send(command)).rejects.toMatchObject({
      name: 'SignatureDoesNotMatch',
      $metadata: { httpStatusCode: 403 },
    });
    // s3rver itself took the old fixed S3RVER key (and any V4 signature at all).
    await expect(
      s3With({ accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }).send(command),
    ).rejects.toMatchObject({ name: 'InvalidAccessKeyId' });
    expect(await exists(key)).toBe(false);
  });

  test('a body changed after signing is refused, whether or not its hash header is changed too', async () => {
    const key = `tampered-${run}`;
    const signed = {
      endpoint: stores.s3Endpoint,
      service: 's3',
      method: 'PUT',
      ca: cert.caCertPem,
    };
    const asIs = await sendSigned({
      ...signed,
      credentials: stores.credentials,
      path: path(key),
      body: 'signed text',
      tamper: ({ headers }) => ({ headers, body: Buffer.from('other text!') }),
    });
    expect(asIs.status).toBe(400);
    expect(xmlCode(asIs)).toBe('XAmzContentSHA256Mismatch');
    const rehashed = await sendSigned({
      ...signed,
      credentials: stores.credentials,
      path: path(key),
      body: 'signed text',
      tamper: ({ headers }) => ({
        headers: {
          ...headers,
          // The new body's true hash: the signature, made over the old one, no longer holds.
          'x-amz-content-sha256': createHash('sha256').update('other text!').digest('hex'),
        },
        body: Buffer.from('other text!'),
      }),
    });
    expect(rehashed.status).toBe(403);
    expect(xmlCode(rehashed)).toBe('SignatureDoesNotMatch');
    expect(await exists(key)).toBe(false);

    const intact = await sendSigned({
      ...signed,
      credentials: stores.credentials,
      path: path(key),
      body: 'signed text',
    });
    expect(intact.status).toBe(200);
    expect(await body(key)).toBe('signed text');
  });

  describe('presigned URLs (the gateway image URLs)', () => {
    const key = `image-${run}.png`;
    beforeAll(() => put(key, `image bytes ${run}`));
    const presign = (
      client: S3Client,
      options: { expiresIn: number; signingDate?: Date },
      objectKey = key,
    ) => getSignedUrl(client, new GetObjectCommand({ Bucket: bucket(), Key: objectKey }), options);

    test('a fresh URL gives the object', async () => {
      const url = await presign(stores.s3, { expiresIn: 60 });
      expect(url).toContain('X-Amz-Signature=');
      const answer = await sendRaw(url, { ca: cert.caCertPem });
      expect(answer.status).toBe(200);
      expect(answer.body).toBe(`image bytes ${run}`);
    });

    test('an expired URL is 403 AccessDenied "Request has expired"', async () => {
      const url = await presign(stores.s3, {
        expiresIn: 60,
        signingDate: new Date(Date.now() - 120_000),
      });
      const answer = await sendRaw(url, { ca: cert.caCertPem });
      expect(answer.status).toBe(403);
      expect(xmlCode(answer)).toBe('AccessDenied');
      expect(answer.body).toContain('Request has expired');
      expect(answer.body).not.toContain(`image bytes ${run}`);
    });

    test('a URL signed with other credentials, or changed, is refused', async () => {
      const other = await presign(s3With(newLocalCredentials()), { expiresIn: 60 });
      const forged = await sendRaw(other, { ca: cert.caCertPem });
      expect(forged.status).toBe(403);
      expect(xmlCode(forged)).toBe('InvalidAccessKeyId');

      const secretKey = `secret-image-${run}.png`;
      await put(secretKey, `secret image ${run}`);
      const url = await presign(stores.s3, { expiresIn: 60 });
      const redirected = await sendRaw(url.replace(key, secretKey), { ca: cert.caCertPem });
      expect(redirected.status).toBe(403);
      expect(xmlCode(redirected)).toBe('SignatureDoesNotMatch');
      expect(redirected.body).not.toContain(`secret image ${run}`);
      const longer = await sendRaw(url.replace('X-Amz-Expires=60', 'X-Amz-Expires=600'), {
        ca: cert.caCertPem,
      });
      expect(longer.status).toBe(403);
    });
  });

  test('a presigned PUT writes, and its If-None-Match is honoured', async () => {
    const key = `presigned-put-${run}`;
    const url = await getSignedUrl(
      stores.s3,
      new PutObjectCommand({ Bucket: bucket(), Key: key, IfNoneMatch: '*' }),
      { expiresIn: 60, signableHeaders: new Set(['if-none-match']) },
    );
    const send = (text: string) =>
      sendRaw(url, {
        method: 'PUT',
        headers: { 'if-none-match': '*' },
        body: text,
        ca: cert.caCertPem,
      });
    expect((await send('first')).status).toBe(200);
    const again = await send('second');
    expect(again.status).toBe(412);
    expect(xmlCode(again)).toBe('PreconditionFailed');
    expect(await body(key)).toBe('first');
  });

  describe('conditional writes', () => {
    const status = (err: unknown) =>
      (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;

    test('If-None-Match: * on an existing object is 412 PreconditionFailed and keeps it', async () => {
      const key = `create-only-${run}`;
      await put(key, 'first', { IfNoneMatch: '*' }); // no object yet: written
      const err = await put(key, 'second', { IfNoneMatch: '*' }).catch((e: unknown) => e);
      expect(status(err)).toBe(412);
      expect(err).toMatchObject({ name: 'PreconditionFailed' });
      expect(await body(key)).toBe('first');
    });

    test('If-Match writes only over the ETag given; a missing object is 412 too', async () => {
      const key = `compare-and-swap-${run}`;
      const first = await put(key, 'v1');
      const second = await put(key, 'v2', { IfMatch: first.ETag });
      expect(await body(key)).toBe('v2');
      const stale = await put(key, 'v3', { IfMatch: first.ETag }).catch((e: unknown) => e);
      expect(status(stale)).toBe(412);
      expect(await body(key)).toBe('v2');
      await put(key, 'v3', { IfMatch: second.ETag });
      expect(await body(key)).toBe('v3');
      const missing = await put(`never-${run}`, 'x', { IfMatch: first.ETag }).catch(
        (e: unknown) => e,
      );
      expect(status(missing)).toBe(412);
      expect(await exists(`never-${run}`)).toBe(false);
    });

    test('concurrent conditional writes of one key: exactly one 200 and one 412, every time', async () => {
      for (let round = 0; round < 5; round++) {
        const key = `race-${run}-${round}`;
        const results = await Promise.allSettled([
          put(key, 'left', { IfNoneMatch: '*' }),
          put(key, 'right', { IfNoneMatch: '*' }),
        ]);
        const statuses = results
          .map((r) =>
            r.status === 'fulfilled' ? r.value.$metadata.httpStatusCode : status(r.reason),
          )
          .sort();
        expect(statuses).toEqual([200, 412]);
        const winner = results.findIndex((r) => r.status === 'fulfilled');
        expect(await body(key)).toBe(winner === 0 ? 'left' : 'right');

        const { ETag } = await stores.s3.send(
          new HeadObjectCommand({ Bucket: bucket(), Key: key }),
        );
        const swaps = await Promise.allSettled([
          put(key, 'swap-a', { IfMatch: ETag }),
          put(key, 'swap-b', { IfMatch: ETag }),
        ]);
        expect(
          swaps
            .map((r) =>
              r.status === 'fulfilled' ? r.value.$metadata.httpStatusCode : status(r.reason),
            )
            .sort(),
        ).toEqual([200, 412]);
      }
    });

    test('two concurrent trust-store writes from the same read: one lands, one is a conflict', async () => {
      const s3 = stores.s3;
      const store = new S3TrustStore({ s3, bucket: bucket(), key: `trust-${run}.json` });
      const doc = (mode: 'uploaded_only' | 'uploaded_and_public') => ({
        ...DEFAULT_TRUST,
        mode,
        updatedAt: new Date().toISOString(),
      });
      const first = await Promise.allSettled([
        store.write(doc('uploaded_only'), {}),
        store.write(doc('uploaded_and_public'), {}),
      ]);
      expect(first.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const rejected = first.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      expect(rejected.reason).toBeInstanceOf(TrustStoreConflict);

      const { etag } = await store.read();
      const second = await Promise.allSettled([
        store.write(doc('uploaded_only'), { etag }),
        store.write(doc('uploaded_and_public'), { etag }),
      ]);
      expect(second.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      expect(
        (second.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason,
      ).toBeInstanceOf(TrustStoreConflict);
    });
  });
});

describe('KMS stand-in', () => {
  const message = Buffer.from(`message-${run}`);
  const mac = (client: KMSClient) =>
    client.send(
      new GenerateMacCommand({
        KeyId: kms.hmacKeyArn,
        Message: message,
        MacAlgorithm: 'HMAC_SHA_256',
      }),
    );
  const target = {
    'content-type': 'application/x-amz-json-1.1',
    'x-amz-target': 'TrentService.GenerateMac',
  };
  const macBody = (text: string) =>
    JSON.stringify({
      KeyId: kms.hmacKeyArn,
      Message: Buffer.from(text).toString('base64'),
      MacAlgorithm: 'HMAC_SHA_256',
    });

  test('the per-run credentials work', async () => {
    await expect(mac(kmsWith(stores.credentials))).resolves.toMatchObject({
      Mac: expect.any(Uint8Array),
    });
    expect(kms.credentials).toEqual(stores.credentials);
  });

  test('an unsigned request is refused before any operation is looked at', async () => {
    const answer = await sendRaw(`${kms.endpoint}/`, {
      method: 'POST',
      headers: target,
      body: macBody('unsigned'),
    });
    expect(answer.status).toBe(400);
    expect(answer.headers['x-amzn-errortype']).toBe('MissingAuthenticationTokenException');
    expect(JSON.parse(answer.body)).toEqual({
      __type: 'MissingAuthenticationTokenException',
      message: 'Request is missing Authentication Token',
    });
    // Not UnsupportedOperationException: the operation is never reached.
    const unknown = await sendRaw(`${kms.endpoint}/`, {
      method: 'POST',
      headers: { ...target, 'x-amz-target': 'TrentService.Encrypt' },
      body: '{}',
    });
    expect(jsonType(unknown)).toBe('MissingAuthenticationTokenException');
  });

  test('other credentials are UnrecognizedClientException; a wrong secret is InvalidSignatureException', async () => {
    await expect(mac(kmsWith(newLocalCredentials()))).rejects.toMatchObject({
      name: 'UnrecognizedClientException',
      $metadata: { httpStatusCode: 400 },
    });
    await expect(mac(kmsWith(wrongSecret()))).rejects.toMatchObject({
      name: 'InvalidSignatureException',
      $metadata: { httpStatusCode: 400 },
    });
  });

  test('a body changed after signing is InvalidSignatureException and gets no MAC', async () => {
    const answer = await sendSigned({
      endpoint: kms.endpoint,
      service: 'kms',
      credentials: stores.credentials,
      headers: target,
      body: macBody('signed'),
      tamper: ({ headers }) => ({ headers, body: Buffer.from(macBody('swappd')) }),
    });
    expect(answer.status).toBe(400);
    expect(jsonType(answer)).toBe('InvalidSignatureException');
    expect(answer.body).not.toContain('Mac"');
    const intact = await sendSigned({
      endpoint: kms.endpoint,
      service: 'kms',
      credentials: stores.credentials,
      headers: target,
      body: macBody('signed'),
    });
    expect(intact.status).toBe(200);
    expect(JSON.parse(intact.body)).toMatchObject({ Mac: expect.any(String) });
  });
});
