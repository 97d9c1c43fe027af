/**
 * The local KMS (`local/kms.ts`) against the real `@aws-sdk/client-kms`
 * client: the operations the handlers call and their pairs, the errors the
 * SDK must name as real KMS does, the privacy rule (nothing logged, no input
 * echoed) and the state file that keeps MACs and the public key across
 * restarts.
 */
import { createHash, createHmac, createPublicKey, randomUUID, verify } from 'node:crypto';
import fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DescribeKeyCommand,
  EncryptCommand,
  GenerateMacCommand,
  GetPublicKeyCommand,
  KMSClient,
  NotFoundException,
  SignCommand,
  VerifyCommand,
  VerifyMacCommand,
  type MessageType,
} from '@aws-sdk/client-kms';
import { startLocalKms, type LocalKms } from '../../local/kms';
import { sendSigned } from './support/signed-request';

const ARN = /^arn:aws:kms:us-east-1:000000000000:key\/[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}$/;

const clientFor = (kms: LocalKms) =>
  new KMSClient({
    endpoint: kms.endpoint,
    region: 'us-east-1',
    credentials: kms.credentials, // this start's random credentials
    maxAttempts: 1,
  });

const bytes = (text: string) => Buffer.from(text, 'utf8');
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest();
const keyIdOf = (arn: string) => arn.slice(arn.indexOf('/') + 1);

async function macOf(client: KMSClient, keyId: string, message: Buffer): Promise<Buffer> {
  const out = await client.send(
    new GenerateMacCommand({ KeyId: keyId, Message: message, MacAlgorithm: 'HMAC_SHA_256' }),
  );
  return Buffer.from(out.Mac!);
}

async function signatureOf(
  client: KMSClient,
  keyId: string,
  message: Buffer,
  messageType: MessageType = 'RAW',
): Promise<Buffer> {
  const out = await client.send(
    new SignCommand({
      KeyId: keyId,
      Message: message,
      MessageType: messageType,
      SigningAlgorithm: 'ECDSA_SHA_256',
    }),
  );
  return Buffer.from(out.Signature!);
}

async function publicKeyOf(client: KMSClient, keyId: string): Promise<Buffer> {
  const out = await client.send(new GetPublicKeyCommand({ KeyId: keyId }));
  return Buffer.from(out.PublicKey!);
}

/** node:crypto's verdict on a DER ECDSA signature over SHA-256(message). */
const nodeVerifies = (publicKeyDer: Buffer, message: Buffer, signature: Buffer) =>
  verify(
    'sha256',
    message,
    {
      key: createPublicKey({ key: publicKeyDer, format: 'der', type: 'spki' }),
      dsaEncoding: 'der',
    },
    signature,
  );

/** A raw POST to the server, signed with its credentials, as the SDK would send it. */
async function post(kms: LocalKms, operation: string, body: string | Buffer) {
  const res = await sendSigned({
    endpoint: kms.endpoint,
    service: 'kms',
    credentials: kms.credentials,
    headers: {
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': `TrentService.${operation}`,
    },
    body,
  });
  const header = (name: string) => {
    const value = res.headers[name];
    return Array.isArray(value) ? value.join(', ') : (value ?? null);
  };
  return { status: res.status, headers: { get: header }, text: res.body };
}

describe('against one in-memory local KMS', () => {
  let kms: LocalKms;
  let client: KMSClient;

  beforeAll(async () => {
    kms = await startLocalKms();
    client = clientFor(kms);
  });

  afterAll(async () => {
    client.destroy();
    await kms.stop();
  });

  test('listens on 127.0.0.1 and names its keys by ARN', () => {
    expect(kms.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(kms.hmacKeyArn).toMatch(ARN);
    expect(kms.signingKeyArn).toMatch(ARN);
    expect(kms.hmacKeyArn).not.toBe(kms.signingKeyArn);
  });

  describe('MACs', () => {
    test('GenerateMac: same message, same 32-byte MAC; another message, another MAC', async () => {
      const out = await client.send(
        new GenerateMacCommand({
          KeyId: kms.hmacKeyArn,
          Message: bytes('customer:cust-42'),
          MacAlgorithm: 'HMAC_SHA_256',
        }),
      );
      expect(out.KeyId).toBe(kms.hmacKeyArn);
      expect(out.MacAlgorithm).toBe('HMAC_SHA_256');
      const mac = Buffer.from(out.Mac!);
      expect(mac).toHaveLength(32);
      expect((await macOf(client, kms.hmacKeyArn, bytes('customer:cust-42'))).equals(mac)).toBe(
        true,
      );
      expect((await macOf(client, kms.hmacKeyArn, bytes('customer:cust-43'))).equals(mac)).toBe(
        false,
      );
    });

    test('VerifyMac accepts the MAC and rejects any other with KMSInvalidMacException', async () => {
      const message = bytes('apikey:abc');
      const mac = await macOf(client, kms.hmacKeyArn, message);
      const verifyMac = (m: Buffer, candidate: Buffer) =>
        client.send(
          new VerifyMacCommand({
            KeyId: kms.hmacKeyArn,
            Message: m,
            Mac: candidate,
            MacAlgorithm: 'HMAC_SHA_256',
          }),
        );
      await expect(verifyMac(message, mac)).resolves.toMatchObject({
        KeyId: kms.hmacKeyArn,
        MacValid: true,
        MacAlgorithm: 'HMAC_SHA_256',
      });
      const flipped = Buffer.from(mac);
      flipped[0] ^= 1;
      for (const [m, candidate] of [
        [message, flipped],
        [message, mac.subarray(0, 16)],
        [bytes('apikey:abd'), mac],
      ]) {
        await expect(verifyMac(m, candidate)).rejects.toMatchObject({
          name: 'KMSInvalidMacException',
        });
      }
    });

    test('only HMAC_SHA_256: another HMAC is the wrong key, an unknown name is invalid', async () => {
      const send = (algorithm: string) =>
        client.send(
          new GenerateMacCommand({
            KeyId: kms.hmacKeyArn,
            Message: bytes('x'),
            MacAlgorithm: algorithm as 'HMAC_SHA_256',
          }),
        );
      await expect(send('HMAC_SHA_512')).rejects.toMatchObject({
        name: 'InvalidKeyUsageException',
      });
      await expect(send('MD5')).rejects.toMatchObject({ name: 'ValidationException' });
    });

    test('messages of 1 to 4096 bytes, like KMS', async () => {
      await expect(macOf(client, kms.hmacKeyArn, Buffer.alloc(4096, 1))).resolves.toHaveLength(32);
      for (const size of [0, 4097]) {
        await expect(macOf(client, kms.hmacKeyArn, Buffer.alloc(size, 1))).rejects.toMatchObject({
          name: 'ValidationException',
          $metadata: { httpStatusCode: 400 },
        });
      }
      await expect(
        signatureOf(client, kms.signingKeyArn, Buffer.alloc(4097, 1)),
      ).rejects.toMatchObject({ name: 'ValidationException' });
    });
  });

  describe('signatures', () => {
    test('GetPublicKey returns the P-256 public key as DER SubjectPublicKeyInfo', async () => {
      const out = await client.send(new GetPublicKeyCommand({ KeyId: kms.signingKeyArn }));
      expect(out).toMatchObject({
        KeyId: kms.signingKeyArn,
        KeySpec: 'ECC_NIST_P256',
        KeyUsage: 'SIGN_VERIFY',
        SigningAlgorithms: ['ECDSA_SHA_256'],
      });
      const key = createPublicKey({
        key: Buffer.from(out.PublicKey!),
        format: 'der',
        type: 'spki',
      });
      expect(key.asymmetricKeyType).toBe('ec');
      expect(key.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    });

    test('Sign (RAW) gives a DER ECDSA signature node:crypto verifies with that key', async () => {
      const message = bytes('{"request_id":"r-1"}');
      const out = await client.send(
        new SignCommand({
          KeyId: kms.signingKeyArn,
          Message: message,
          MessageType: 'RAW',
          SigningAlgorithm: 'ECDSA_SHA_256',
        }),
      );
      expect(out.KeyId).toBe(kms.signingKeyArn);
      expect(out.SigningAlgorithm).toBe('ECDSA_SHA_256');
      const signature = Buffer.from(out.Signature!);
      expect(signature[0]).toBe(0x30); // DER SEQUENCE
      const publicKey = await publicKeyOf(client, kms.signingKeyArn);
      expect(nodeVerifies(publicKey, message, signature)).toBe(true);
      expect(nodeVerifies(publicKey, bytes('{"request_id":"r-2"}'), signature)).toBe(false);
    });

    test('MessageType defaults to RAW', async () => {
      const message = bytes('default');
      const out = await client.send(
        new SignCommand({
          KeyId: kms.signingKeyArn,
          Message: message,
          SigningAlgorithm: 'ECDSA_SHA_256',
        }),
      );
      const publicKey = await publicKeyOf(client, kms.signingKeyArn);
      expect(nodeVerifies(publicKey, message, Buffer.from(out.Signature!))).toBe(true);
    });

    test('Verify accepts a valid signature and rejects others with KMSInvalidSignatureException', async () => {
      const message = bytes('receipt');
      const signature = await signatureOf(client, kms.signingKeyArn, message);
      const check = (m: Buffer, s: Buffer) =>
        client.send(
          new VerifyCommand({
            KeyId: kms.signingKeyArn,
            Message: m,
            Signature: s,
            SigningAlgorithm: 'ECDSA_SHA_256',
          }),
        );
      await expect(check(message, signature)).resolves.toMatchObject({
        KeyId: kms.signingKeyArn,
        SignatureValid: true,
        SigningAlgorithm: 'ECDSA_SHA_256',
      });
      for (const [m, s] of [
        [bytes('receipt!'), signature],
        [message, Buffer.from('not a signature')],
        [message, signature.subarray(0, signature.length - 1)],
      ]) {
        await expect(check(m, s)).rejects.toMatchObject({ name: 'KMSInvalidSignatureException' });
      }
    });

    test('DIGEST: the message is a SHA-256 digest, signed and verified without hashing it again', async () => {
      const message = bytes('hashed by the caller');
      const digest = sha256(message);
      const publicKey = await publicKeyOf(client, kms.signingKeyArn);
      const check = (m: Buffer, s: Buffer, type: MessageType) =>
        client.send(
          new VerifyCommand({
            KeyId: kms.signingKeyArn,
            Message: m,
            MessageType: type,
            Signature: s,
            SigningAlgorithm: 'ECDSA_SHA_256',
          }),
        );

      // A DIGEST signature is the signature of the original message...
      const fromDigest = await signatureOf(client, kms.signingKeyArn, digest, 'DIGEST');
      expect(nodeVerifies(publicKey, message, fromDigest)).toBe(true);
      await expect(check(message, fromDigest, 'RAW')).resolves.toMatchObject({
        SignatureValid: true,
      });
      // ...and a RAW signature verifies against the digest.
      const fromRaw = await signatureOf(client, kms.signingKeyArn, message, 'RAW');
      await expect(check(digest, fromRaw, 'DIGEST')).resolves.toMatchObject({
        SignatureValid: true,
      });
      // Signatures are randomized, as with KMS.
      const again = await signatureOf(client, kms.signingKeyArn, digest, 'DIGEST');
      expect(again.equals(fromDigest)).toBe(false);
      expect(nodeVerifies(publicKey, message, again)).toBe(true);

      await expect(check(sha256(bytes('other')), fromRaw, 'DIGEST')).rejects.toMatchObject({
        name: 'KMSInvalidSignatureException',
      });
      await expect(check(digest, Buffer.from([0x30, 0x00]), 'DIGEST')).rejects.toMatchObject({
        name: 'KMSInvalidSignatureException',
      });
      await expect(
        signatureOf(client, kms.signingKeyArn, digest.subarray(1), 'DIGEST'),
      ).rejects.toMatchObject({ name: 'ValidationException' });
    });
  });

  describe('keys', () => {
    test('a key is named by its bare id or its full ARN', async () => {
      const message = bytes('same');
      const byArn = await macOf(client, kms.hmacKeyArn, message);
      const byId = await macOf(client, keyIdOf(kms.hmacKeyArn), message);
      expect(byId.equals(byArn)).toBe(true);

      const publicKey = await publicKeyOf(client, kms.signingKeyArn);
      expect((await publicKeyOf(client, keyIdOf(kms.signingKeyArn))).equals(publicKey)).toBe(true);
      const signature = await signatureOf(client, keyIdOf(kms.signingKeyArn), message);
      expect(nodeVerifies(publicKey, message, signature)).toBe(true);
    });

    test('DescribeKey reports both keys as enabled, with their spec and usage', async () => {
      const describe = async (keyId: string) =>
        (await client.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata;
      await expect(describe(keyIdOf(kms.hmacKeyArn))).resolves.toMatchObject({
        KeyId: keyIdOf(kms.hmacKeyArn),
        Arn: kms.hmacKeyArn,
        Enabled: true,
        KeyState: 'Enabled',
        KeySpec: 'HMAC_256',
        KeyUsage: 'GENERATE_VERIFY_MAC',
        MacAlgorithms: ['HMAC_SHA_256'],
      });
      await expect(describe(kms.signingKeyArn)).resolves.toMatchObject({
        KeyId: keyIdOf(kms.signingKeyArn),
        Arn: kms.signingKeyArn,
        Enabled: true,
        KeyState: 'Enabled',
        KeySpec: 'ECC_NIST_P256',
        KeyUsage: 'SIGN_VERIFY',
        SigningAlgorithms: ['ECDSA_SHA_256'],
      });
    });

    test.each([
      ['an unknown key id', randomUUID()],
      ['an unknown key ARN', `arn:aws:kms:us-east-1:000000000000:key/${randomUUID()}`],
      ['an alias', 'alias/ephemera-hmac'],
      ['the ARN in another account', 'arn:aws:kms:us-east-1:111122223333:key/ID'],
    ])('%s is NotFoundException', async (_what, keyId) => {
      const resolved = keyId.replace('ID', keyIdOf(kms.hmacKeyArn));
      const attempt = macOf(client, resolved, bytes('x'));
      await expect(attempt).rejects.toBeInstanceOf(NotFoundException);
      await expect(attempt).rejects.toMatchObject({
        name: 'NotFoundException',
        $metadata: { httpStatusCode: 400 },
      });
    });

    test('using a key for the other key usage is InvalidKeyUsageException', async () => {
      const attempts = [
        signatureOf(client, kms.hmacKeyArn, bytes('x')),
        macOf(client, kms.signingKeyArn, bytes('x')),
        publicKeyOf(client, kms.hmacKeyArn),
        client.send(
          new VerifyMacCommand({
            KeyId: kms.signingKeyArn,
            Message: bytes('x'),
            Mac: Buffer.alloc(32),
            MacAlgorithm: 'HMAC_SHA_256',
          }),
        ),
        client.send(
          new SignCommand({
            KeyId: kms.signingKeyArn,
            Message: bytes('x'),
            SigningAlgorithm: 'RSASSA_PSS_SHA_256',
          }),
        ),
      ];
      for (const attempt of attempts) {
        await expect(attempt).rejects.toMatchObject({ name: 'InvalidKeyUsageException' });
      }
    });
  });

  describe('protocol', () => {
    test('an operation it does not implement is UnsupportedOperationException', async () => {
      await expect(
        client.send(new EncryptCommand({ KeyId: kms.hmacKeyArn, Plaintext: bytes('x') })),
      ).rejects.toMatchObject({ name: 'UnsupportedOperationException' });
      const res = await post(kms, 'constructor', '{}');
      expect(res.status).toBe(400);
      expect(JSON.parse(res.text).__type).toBe('UnsupportedOperationException');
    });

    test('errors are 400 JSON with __type, message and x-amzn-errortype', async () => {
      const res = await post(kms, 'DescribeKey', JSON.stringify({ KeyId: randomUUID() }));
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toBe('application/x-amz-json-1.1');
      expect(res.headers.get('x-amzn-errortype')).toBe('NotFoundException');
      expect(JSON.parse(res.text)).toEqual({
        __type: 'NotFoundException',
        message: expect.any(String),
      });
    });

    test('a body that is not a JSON object is SerializationException', async () => {
      for (const body of ['{"KeyId":', '[]', 'null']) {
        const res = await post(kms, 'DescribeKey', body);
        expect(res.status).toBe(400);
        expect(JSON.parse(res.text).__type).toBe('SerializationException');
      }
    });

    test('a body over 64 KiB is answered 413', async () => {
      const res = await post(kms, 'GenerateMac', Buffer.alloc(200 * 1024, 0x20));
      expect(res.status).toBe(413);
      expect(JSON.parse(res.text).__type).toBe('ValidationException');
      // The server carries on.
      await expect(macOf(client, kms.hmacKeyArn, bytes('x'))).resolves.toHaveLength(32);
    });

    test('logs nothing and echoes no request content, even in errors', async () => {
      const marker = 'private-prompt-text-7f3a';
      const spies = (['log', 'info', 'warn', 'error', 'debug'] as const).map((m) =>
        jest.spyOn(console, m),
      );
      const stdout = jest.spyOn(process.stdout, 'write');
      const stderr = jest.spyOn(process.stderr, 'write');
      try {
        const markerB64 = bytes(marker).toString('base64');
        const bodies: [string, Record<string, unknown>][] = [
          ['GenerateMac', { KeyId: marker, Message: markerB64, MacAlgorithm: 'HMAC_SHA_256' }],
          ['GenerateMac', { KeyId: kms.hmacKeyArn, Message: markerB64, MacAlgorithm: marker }],
          ['GenerateMac', { KeyId: kms.hmacKeyArn, Message: marker, MacAlgorithm: 'HMAC_SHA_256' }],
          [
            'VerifyMac',
            {
              KeyId: kms.hmacKeyArn,
              Message: markerB64,
              Mac: markerB64,
              MacAlgorithm: 'HMAC_SHA_256',
            },
          ],
          ['Sign', { KeyId: kms.signingKeyArn, Message: markerB64, SigningAlgorithm: marker }],
          ['Sign', { KeyId: kms.signingKeyArn, Message: markerB64, MessageType: marker }],
          [marker, { Message: markerB64 }],
        ];
        for (const [operation, body] of bodies) {
          const res = await post(kms, operation, JSON.stringify(body));
          expect(res.status).toBe(400);
          expect(res.text).not.toContain(marker);
          expect(res.text).not.toContain(markerB64);
        }
        const invalidJson = await post(kms, 'GenerateMac', `{"Message":"${marker}`);
        expect(invalidJson.text).not.toContain(marker);

        for (const spy of spies) expect(spy).not.toHaveBeenCalled();
        const written = [...stdout.mock.calls, ...stderr.mock.calls].map((c) => String(c[0]));
        expect(written.filter((w) => w.includes(marker) || w.includes(markerB64))).toEqual([]);
      } finally {
        for (const spy of [...spies, stdout, stderr]) spy.mockRestore();
      }
    });
  });
});

describe('lifecycle and state file', () => {
  let dir: string;

  beforeEach(() => {
    dir = fs.mkdtempSync(join(tmpdir(), 'ephemera-kms-'));
  });

  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Starts a server, runs fn with a client for it, and always stops both. */
  async function withKms<T>(
    options: Parameters<typeof startLocalKms>[0],
    fn: (kms: LocalKms, client: KMSClient) => Promise<T>,
  ): Promise<T> {
    const kms = await startLocalKms(options);
    const client = clientFor(kms);
    try {
      return await fn(kms, client);
    } finally {
      client.destroy();
      await kms.stop();
    }
  }

  test('stop() closes open keep-alive connections and the port', async () => {
    const kms = await startLocalKms();
    const client = clientFor(kms);
    await macOf(client, kms.hmacKeyArn, bytes('x')); // leaves a keep-alive socket open
    await kms.stop(); // would hang on the open socket without closeAllConnections()
    await expect(macOf(client, kms.hmacKeyArn, bytes('x'))).rejects.toThrow();
    await expect(kms.stop()).resolves.toBeUndefined(); // a second stop is harmless
    client.destroy();
  });

  test('listens on the port it is given', async () => {
    const probe = await startLocalKms();
    const port = Number(new URL(probe.endpoint).port);
    await probe.stop();
    await withKms({ port }, async (kms) => {
      expect(kms.endpoint).toBe(`http://127.0.0.1:${port}`);
    });
  });

  test('creates the state file (and its directories) readable by the owner only', async () => {
    const stateFile = join(dir, 'nested', 'deeper', 'kms.json');
    const message = bytes('customer:cust-42');
    const mac = await withKms({ stateFile }, async (kms, client) => {
      const state = JSON.parse(fs.readFileSync(stateFile, 'utf8'));
      expect(state).toEqual({
        version: 1,
        hmac: { id: keyIdOf(kms.hmacKeyArn), secret: expect.any(String) },
        signing: { id: keyIdOf(kms.signingKeyArn), privateKeyPem: expect.any(String) },
      });
      // The MAC is HMAC-SHA256 under the 32-byte secret, as KMS computes it.
      const secret = Buffer.from(state.hmac.secret, 'base64');
      expect(secret).toHaveLength(32);
      const mac = await macOf(client, kms.hmacKeyArn, message);
      expect(mac.equals(createHmac('sha256', secret).update(message).digest())).toBe(true);
      return mac;
    });
    expect(mac).toHaveLength(32);
    expect(fs.statSync(stateFile).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(join(dir, 'nested', 'deeper'))).toEqual(['kms.json']); // no temp file left
  });

  test('an existing state file left readable by others is made the owner only on start', async () => {
    const stateFile = join(dir, 'kms.json');
    await withKms({ stateFile }, async () => undefined);
    fs.chmodSync(stateFile, 0o644);
    await withKms({ stateFile }, async () => undefined);
    expect(fs.statSync(stateFile).mode & 0o777).toBe(0o600);
  });

  test('a restart with the same state file gives the same keys, MACs and public key', async () => {
    const stateFile = join(dir, 'kms.json');
    const message = bytes('apikey:abc');
    const run = () =>
      withKms({ stateFile }, async (kms, client) => ({
        arns: [kms.hmacKeyArn, kms.signingKeyArn],
        mac: await macOf(client, kms.hmacKeyArn, message),
        publicKey: await publicKeyOf(client, kms.signingKeyArn),
        signature: await signatureOf(client, kms.signingKeyArn, message),
      }));
    const first = await run();
    const before = fs.readFileSync(stateFile, 'utf8');
    const second = await run();
    expect(second.arns).toEqual(first.arns);
    expect(second.mac.equals(first.mac)).toBe(true);
    expect(second.publicKey.equals(first.publicKey)).toBe(true);
    expect(nodeVerifies(second.publicKey, message, first.signature)).toBe(true);
    expect(fs.readFileSync(stateFile, 'utf8')).toBe(before); // reused, not rewritten
  });

  test('without a state file nothing is written and each start has new keys', async () => {
    const writes = (['writeFileSync', 'mkdirSync', 'renameSync', 'openSync'] as const).map((m) =>
      jest.spyOn(fs, m),
    );
    try {
      const message = bytes('x');
      const first = await withKms({}, (kms, client) => macOf(client, kms.hmacKeyArn, message));
      const second = await withKms({}, (kms, client) => macOf(client, kms.hmacKeyArn, message));
      expect(second.equals(first)).toBe(false);
      for (const spy of writes) expect(spy).not.toHaveBeenCalled();
    } finally {
      for (const spy of writes) spy.mockRestore();
    }
  });

  test.each([
    ['not JSON', '{"version":1,"hmac":{"secret":"SECRET-CONTENT'],
    [
      'a secret of the wrong length',
      JSON.stringify({
        version: 1,
        hmac: { id: randomUUID(), secret: Buffer.from('SECRET-CONTENT').toString('base64') },
        signing: { id: randomUUID(), privateKeyPem: 'x' },
      }),
    ],
    ['another version', JSON.stringify({ version: 2, note: 'SECRET-CONTENT' })],
  ])('a state file that is %s fails to start with a clear one-line error', async (_what, text) => {
    const stateFile = join(dir, 'kms.json');
    fs.writeFileSync(stateFile, text, { mode: 0o600 });
    const error: Error = await startLocalKms({ stateFile }).then(
      () => {
        throw new Error('started');
      },
      (err: Error) => err,
    );
    expect(error.message).toContain(stateFile);
    expect(error.message).toContain('corrupt');
    expect(error.message).not.toContain('\n');
    expect(error.message).not.toContain('SECRET');
    expect(fs.readFileSync(stateFile, 'utf8')).toBe(text); // left as it was
  });

  test('an unreadable state file fails to start with the file and the reason', async () => {
    const stateFile = join(dir, 'kms.json');
    fs.mkdirSync(stateFile); // a directory where the file should be
    await expect(startLocalKms({ stateFile })).rejects.toThrow(
      `Local KMS: cannot read the state file ${stateFile} (EISDIR)`,
    );
  });
});
