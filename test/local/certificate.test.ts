/**
 * Local mode's HTTPS certificates (`local/certificate.ts`): the local CA and
 * the server certificate it signs, checked with node:crypto's
 * X509Certificate; how they are kept in, reused from and renewed in their
 * directory; and a real HTTPS server on 127.0.0.1 with the TLS options local
 * mode uses, reached by Node clients (and curl when the machine has it).
 */
import { execFile, spawnSync } from 'node:child_process';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer, get, type RequestOptions, type Server } from 'node:https';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { promisify } from 'node:util';
import {
  ensureLocalCertificate,
  tlsServerOptions,
  type LocalCertificate,
} from '../../local/certificate';

const DAY_MS = 24 * 60 * 60 * 1000;
const SERVER_AUTH_OID = '1.3.6.1.5.5.7.3.1';

const root = mkdtempSync(join(tmpdir(), 'ephemera-certificate-test-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let dirCount = 0;
/** A fresh, not yet existing certificate directory. */
const freshDir = () => join(root, `certs-${++dirCount}`);

/** The certificates of a PEM chain, in order. */
function chain(pem: string): X509Certificate[] {
  return (pem.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? []).map(
    (c) => new X509Certificate(c),
  );
}

/** The server (leaf) certificate and the CA certificate of a result. */
function parse(cert: LocalCertificate) {
  return { leaf: chain(cert.certPem)[0], ca: new X509Certificate(cert.caCertPem) };
}

const time = (date: string) => new Date(date).getTime();
const mode = (path: string) => statSync(path).mode & 0o777;

/**
 * Whether the DER certificate holds these bytes. Node's X509Certificate does
 * not expose basicConstraints or keyUsage, so those extensions are matched as
 * encoded: OID, critical flag, then the value.
 */
const hasDer = (x509: X509Certificate, hex: string) =>
  x509.raw.includes(Buffer.from(hex.replace(/ /g, ''), 'hex'));
// basicConstraints (2.5.29.19), critical, cA TRUE, pathLenConstraint 0
const CA_BASIC_CONSTRAINTS = '0603551d13 0101ff 0408 30060101ff020100';
// keyUsage (2.5.29.15), critical, keyCertSign + cRLSign
const CA_KEY_USAGE = '0603551d0f 0101ff 0404 03020106';
// keyUsage (2.5.29.15), critical, digitalSignature
const SERVER_KEY_USAGE = '0603551d0f 0101ff 0404 03020780';

describe('certificates in a directory', () => {
  const dir = freshDir();
  let first: LocalCertificate;
  let generationMs: number;

  beforeAll(async () => {
    const start = Date.now();
    first = await ensureLocalCertificate(dir);
    generationMs = Date.now() - start;
  });

  test('are made on the first call, quickly, with the CA at <dir>/ca.pem', () => {
    expect(first.created).toBe(true);
    expect(generationMs).toBeLessThan(5000); // EC P-256: tens of milliseconds in practice
    expect(first.caCertPath).toBe(join(dir, 'ca.pem'));
    expect(readFileSync(first.caCertPath, 'utf8')).toBe(first.caCertPem);
    expect(readdirSync(dir).sort()).toEqual([
      'ca-key.pem',
      'ca.pem',
      'server-key.pem',
      'server.pem',
    ]);
  });

  test('the CA is a self-signed EC P-256 CA, valid for 10 years, that may only sign', () => {
    const { ca } = parse(first);
    expect(ca.ca).toBe(true);
    expect(ca.subject).toBe('CN=Ephemera local CA\nO=Ephemera local mode');
    expect(ca.issuer).toBe(ca.subject);
    expect(ca.verify(ca.publicKey)).toBe(true);
    expect(ca.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(hasDer(ca, CA_BASIC_CONSTRAINTS)).toBe(true);
    expect(hasDer(ca, CA_KEY_USAGE)).toBe(true);
    const from = new Date(ca.validFrom);
    expect(from.getTime()).toBeLessThanOrEqual(Date.now());
    expect(new Date(ca.validTo).getUTCFullYear()).toBe(from.getUTCFullYear() + 10);
  });

  test('the server certificate is signed by the CA, for localhost, 127.0.0.1 and ::1', () => {
    const { leaf, ca } = parse(first);
    expect(leaf.ca).toBe(false);
    expect(leaf.subject).toBe('CN=localhost');
    expect(leaf.checkIssued(ca)).toBe(true);
    expect(leaf.verify(ca.publicKey)).toBe(true);
    expect(leaf.verify(leaf.publicKey)).toBe(false);
    expect(leaf.checkHost('localhost')).toBe('localhost');
    expect(leaf.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(leaf.checkIP('::1')).toBe('::1');
    expect(leaf.checkHost('example.com')).toBeUndefined();
    expect(leaf.checkIP('10.0.0.1')).toBeUndefined();
    expect(leaf.keyUsage).toEqual([SERVER_AUTH_OID]);
    expect(hasDer(leaf, SERVER_KEY_USAGE)).toBe(true);
    expect(leaf.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(leaf.serialNumber).not.toBe(ca.serialNumber);
    expect(time(leaf.validFrom)).toBeLessThanOrEqual(Date.now());
    expect(time(leaf.validTo) - time(leaf.validFrom)).toBe(397 * DAY_MS);
  });

  test('certPem is the chain (server certificate, then CA) and keyPem its key', () => {
    const [leaf, ca, ...rest] = chain(first.certPem);
    expect(rest).toEqual([]);
    expect(ca.raw.equals(new X509Certificate(first.caCertPem).raw)).toBe(true);
    expect(leaf.checkPrivateKey(createPrivateKey(first.keyPem))).toBe(true);
    expect(readFileSync(join(dir, 'server-key.pem'), 'utf8')).toBe(first.keyPem);
  });

  test('private keys are readable by the owner only, and so is the directory', () => {
    expect(mode(join(dir, 'ca-key.pem'))).toBe(0o600);
    expect(mode(join(dir, 'server-key.pem'))).toBe(0o600);
    expect(mode(dir)).toBe(0o700);
  });

  test('a second call reuses the same files', async () => {
    const second = await ensureLocalCertificate(dir);
    expect(second.created).toBe(false);
    expect(second.caCertPem).toBe(first.caCertPem);
    expect(second.certPem).toBe(first.certPem);
    expect(second.keyPem).toBe(first.keyPem);
    expect(second.caCertPath).toBe(first.caCertPath);
    second.dispose(); // a no-op with a directory
    expect(existsSync(second.caCertPath)).toBe(true);
  });

  test('tlsServerOptions: TLS 1.2 or later, Node default maximum, the chain and key', () => {
    const options = tlsServerOptions(first);
    expect(options).toEqual({ minVersion: 'TLSv1.2', cert: first.certPem, key: first.keyPem });
    expect(options.maxVersion).toBeUndefined();
  });
});

describe('renewal', () => {
  test('a server certificate expiring within 30 days is renewed, the CA is kept', async () => {
    const dir = freshDir();
    const first = await ensureLocalCertificate(dir);
    const later = new Date(time(parse(first).leaf.validTo) - 10 * DAY_MS);

    const renewed = await ensureLocalCertificate(dir, later);
    expect(renewed.created).toBe(true);
    expect(renewed.caCertPem).toBe(first.caCertPem);
    expect(renewed.keyPem).not.toBe(first.keyPem);
    const { leaf, ca } = parse(renewed);
    expect(leaf.verify(ca.publicKey)).toBe(true);
    expect(time(leaf.validFrom)).toBe(Math.floor(later.getTime() / 1000) * 1000);
    expect(time(leaf.validTo) - time(leaf.validFrom)).toBe(397 * DAY_MS);
    expect(readFileSync(join(dir, 'server-key.pem'), 'utf8')).toBe(renewed.keyPem);
    expect(mode(join(dir, 'server-key.pem'))).toBe(0o600);

    // Still 31 days to go: kept.
    const kept = await ensureLocalCertificate(dir, new Date(time(leaf.validTo) - 31 * DAY_MS));
    expect(kept.created).toBe(false);
    expect(kept.certPem).toBe(renewed.certPem);
  });

  test('certificates not valid yet (clock set back) are made again', async () => {
    const dir = freshDir();
    const first = await ensureLocalCertificate(dir);
    const earlier = new Date(time(parse(first).leaf.validFrom) - DAY_MS);
    // The CA is not valid yet either at that time, so both are made again.
    const again = await ensureLocalCertificate(dir, earlier);
    expect(again.created).toBe(true);
    expect(again.caCertPem).not.toBe(first.caCertPem);
  });

  test('a CA expiring within 30 days is renewed, with a new server certificate', async () => {
    const dir = freshDir();
    const first = await ensureLocalCertificate(dir);
    const later = new Date(time(parse(first).ca.validTo) - 10 * DAY_MS);

    const renewed = await ensureLocalCertificate(dir, later);
    expect(renewed.created).toBe(true);
    expect(renewed.caCertPem).not.toBe(first.caCertPem);
    const { leaf, ca } = parse(renewed);
    expect(leaf.verify(ca.publicKey)).toBe(true);
    expect(new Date(ca.validTo).getUTCFullYear()).toBe(later.getUTCFullYear() + 10);
  });

  test('a server certificate never outlives its CA', async () => {
    const dir = freshDir();
    const first = await ensureLocalCertificate(dir);
    // The CA has 40 days left (kept), the old server certificate has long expired.
    const later = new Date(time(parse(first).ca.validTo) - 40 * DAY_MS);
    const renewed = await ensureLocalCertificate(dir, later);
    expect(renewed.caCertPem).toBe(first.caCertPem);
    const { leaf, ca } = parse(renewed);
    expect(leaf.validTo).toBe(ca.validTo);
  });

  test('files that are not certificates, or do not match their keys, are made again', async () => {
    const dir = freshDir();
    const first = await ensureLocalCertificate(dir);

    writeFileSync(join(dir, 'server.pem'), 'not a certificate\n');
    const serverRemade = await ensureLocalCertificate(dir);
    expect(serverRemade.created).toBe(true);
    expect(serverRemade.caCertPem).toBe(first.caCertPem);
    expect(parse(serverRemade).leaf.verify(parse(first).ca.publicKey)).toBe(true);

    // A key that belongs to another certificate.
    writeFileSync(join(dir, 'server-key.pem'), first.keyPem);
    const keyRemade = await ensureLocalCertificate(dir);
    expect(keyRemade.created).toBe(true);
    expect(keyRemade.caCertPem).toBe(first.caCertPem);

    rmSync(join(dir, 'ca-key.pem'));
    const caRemade = await ensureLocalCertificate(dir);
    expect(caRemade.created).toBe(true);
    expect(caRemade.caCertPem).not.toBe(first.caCertPem);
    expect(parse(caRemade).leaf.verify(parse(caRemade).ca.publicKey)).toBe(true);
    expect(readFileSync(join(dir, 'ca.pem'), 'utf8')).toBe(caRemade.caCertPem);
  });
});

describe('without a directory', () => {
  test('certificates are made in memory, the CA is written to a temporary file', async () => {
    const cert = await ensureLocalCertificate();
    expect(cert.created).toBe(true);
    expect(dirname(dirname(cert.caCertPath))).toBe(tmpdir());
    expect(readFileSync(cert.caCertPath, 'utf8')).toBe(cert.caCertPem);
    expect(readdirSync(dirname(cert.caCertPath))).toEqual(['ca.pem']); // no keys on disk
    const { leaf, ca } = parse(cert);
    expect(leaf.verify(ca.publicKey)).toBe(true);

    const other = await ensureLocalCertificate();
    expect(other.caCertPem).not.toBe(cert.caCertPem);
    expect(other.caCertPath).not.toBe(cert.caCertPath);

    cert.dispose();
    other.dispose();
    expect(existsSync(dirname(cert.caCertPath))).toBe(false);
    expect(existsSync(dirname(other.caCertPath))).toBe(false);
    cert.dispose(); // twice is fine
  });
});

describe('errors', () => {
  test('a directory that cannot be created: a one-line message naming it', async () => {
    const file = join(root, 'a-file');
    writeFileSync(file, '');
    const dir = join(file, 'certs');
    const error = await ensureLocalCertificate(dir).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toContain(dir);
    expect((error as Error).message).toMatch(/choose a writable directory/);
    expect((error as Error).message).not.toContain('\n');
  });

  test('a file that cannot be written: a one-line message naming it', async () => {
    const dir = freshDir();
    // A directory where the CA key goes cannot be replaced by a file (even as root).
    mkdirSync(join(dir, 'ca-key.pem'), { recursive: true });
    const error = await ensureLocalCertificate(dir).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toContain(join(dir, 'ca-key.pem'));
    expect((error as Error).message).toMatch(/writable/);
    expect((error as Error).message).not.toContain('\n');
    expect(readdirSync(dir)).toEqual(['ca-key.pem']); // no temporary file left behind
  });
});

describe('an HTTPS server with tlsServerOptions', () => {
  let cert: LocalCertificate;
  let server: Server;
  let port: number;

  beforeAll(async () => {
    cert = await ensureLocalCertificate(freshDir());
    server = createServer(tlsServerOptions(cert), (req, res) => {
      res.end((req.socket as TLSSocket).getProtocol() ?? 'none');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  });

  /** GET / on the server; resolves with the TLS version both ends agreed on. */
  function request(options: RequestOptions): Promise<string> {
    return new Promise((resolve, reject) => {
      const req = get({ host: '127.0.0.1', port, path: '/', agent: false, ...options }, (res) => {
        const client = (res.socket as TLSSocket).getProtocol();
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () =>
          client === body ? resolve(body) : reject(new Error(`${client} != ${body}`)),
        );
      });
      req.on('error', reject);
    });
  }

  test('a client trusting the local CA connects with TLS 1.3', async () => {
    await expect(request({ ca: cert.caCertPem })).resolves.toBe('TLSv1.3');
  });

  test('a client limited to TLS 1.2 connects with TLS 1.2', async () => {
    await expect(request({ ca: cert.caCertPem, maxVersion: 'TLSv1.2' })).resolves.toBe('TLSv1.2');
  });

  test('a TLS 1.1 client is refused by the server', async () => {
    const serverError = once(server, 'tlsClientError');
    await expect(
      request({
        ca: cert.caCertPem,
        minVersion: 'TLSv1',
        maxVersion: 'TLSv1.1',
        ciphers: 'DEFAULT@SECLEVEL=0', // OpenSSL 3 allows TLS 1.1 only at level 0
      }),
    ).rejects.toThrow(/alert protocol version/);
    const [error] = (await serverError) as [NodeJS.ErrnoException];
    expect(error.code).toBe('ERR_SSL_UNSUPPORTED_PROTOCOL');
  });

  test('a client that does not trust the local CA is refused', async () => {
    await expect(request({})).rejects.toMatchObject({ code: 'SELF_SIGNED_CERT_IN_CHAIN' });
  });

  const hasCurl = spawnSync('curl', ['--version']).error === undefined;
  (hasCurl ? test : test.skip)('curl --cacert <caCertPath> connects', async () => {
    const { stdout } = await promisify(execFile)('curl', [
      '--silent',
      '--show-error',
      '--fail',
      '--noproxy',
      '*',
      '--cacert',
      cert.caCertPath,
      `https://127.0.0.1:${port}/`,
    ]);
    expect(stdout).toBe('TLSv1.3');
  });
});
