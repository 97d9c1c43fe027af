/**
 * The certificates of local mode's HTTPS server on 127.0.0.1.
 *
 * On first start local mode makes a small private PKI:
 *
 * - a local CA (EC P-256, valid 10 years, `cA` with path length 0, may only
 *   sign certificates and CRLs). Clients trust this one: curl `--cacert`,
 *   Node's `ca` option, exported as EPHEMERA_CA_CERT;
 * - a server certificate signed by that CA (EC P-256, valid 397 days, the
 *   most browsers accept) for `localhost`, `127.0.0.1` and `::1`, usable for
 *   TLS server authentication only.
 *
 * With a directory the four PEM files (`ca.pem`, `ca-key.pem`, `server.pem`,
 * `server-key.pem`) are kept there and reused on later starts, so the CA that
 * users told their clients to trust stays the same. Anything missing, not
 * parseable, not matching its key or expiring within 30 days is made again;
 * a new CA always comes with a new server certificate. Without a directory
 * everything lives in memory and only the CA certificate is written, to a
 * temporary directory, so that there is a path to print.
 *
 * Certificates are made with `selfsigned` (WebCrypto, random 72-bit serial
 * numbers); checked with `node:crypto`'s X509Certificate.
 */

import { X509Certificate, createPrivateKey } from 'node:crypto';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { TlsOptions } from 'node:tls';
import { generate } from 'selfsigned';

export interface LocalCertificate {
  /** PEM of the local CA (what clients trust). */
  readonly caCertPem: string;
  /**
   * Where the CA certificate is on disk: <dir>/ca.pem, or, without a dir, a
   * file in a temporary directory removed by `dispose()`. Always a real file,
   * so it can be printed as EPHEMERA_CA_CERT.
   */
  readonly caCertPath: string;
  /** Server certificate chain PEM (leaf, then CA) and its private key, for https.createServer / tls options. */
  readonly certPem: string;
  readonly keyPem: string;
  /** True when this call created new certificates. */
  readonly created: boolean;
  /** Removes the temporary directory when there was no dir (no-op otherwise). */
  dispose(): void;
}

const DAY_MS = 24 * 60 * 60 * 1000;
/** Certificates that expire within this time are made again. */
const RENEW_BEFORE_MS = 30 * DAY_MS;
const CA_VALIDITY_YEARS = 10;
const SERVER_VALIDITY_DAYS = 397;

const CA_FILE = 'ca.pem';
const CA_KEY_FILE = 'ca-key.pem';
const SERVER_FILE = 'server.pem';
const SERVER_KEY_FILE = 'server-key.pem';

/** A certificate and its private key, both PEM. */
interface Pair {
  readonly cert: string;
  readonly key: string;
}

/**
 * Loads <dir>/{ca.pem,ca-key.pem,server.pem,server-key.pem}, or makes them
 * when missing, unreadable as certificates, or when the server certificate
 * expires within 30 days (then only the server certificate is renewed, the CA
 * is kept if it is valid for longer than that). Without dir: made in memory,
 * CA PEM written to a temp dir. Private key files are written with mode
 * 0o600, dir created with 0o700.
 */
export async function ensureLocalCertificate(
  dir?: string,
  now: Date = new Date(),
): Promise<LocalCertificate> {
  if (dir === undefined) return inMemory(now);

  const root = resolve(dir);
  try {
    // The mode only applies to directories made here; an existing one is left as it is.
    mkdirSync(root, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new Error(
      `Cannot create the local certificate directory ${root} (${reason(err)}): create it or choose a writable directory.`,
    );
  }
  const file = (name: string) => join(root, name);

  let created = false;
  let ca = readPair(file(CA_FILE), file(CA_KEY_FILE));
  if (!ca || !usableCa(ca, now)) {
    ca = await makeCa(now);
    writePair(root, CA_FILE, CA_KEY_FILE, ca);
    created = true;
  }
  let server = created ? undefined : readPair(file(SERVER_FILE), file(SERVER_KEY_FILE));
  if (!server || !usableServer(server, ca, now)) {
    server = await makeServer(ca, now);
    writePair(root, SERVER_FILE, SERVER_KEY_FILE, server);
    created = true;
  }

  return {
    caCertPem: ca.cert,
    caCertPath: file(CA_FILE),
    certPem: pemLine(server.cert) + pemLine(ca.cert),
    keyPem: server.key,
    created,
    dispose: () => undefined,
  };
}

/** The TLS options of local mode's server: TLS 1.2 or later (1.3 preferred, Node's default maximum). */
export function tlsServerOptions(cert: LocalCertificate): TlsOptions {
  return { minVersion: 'TLSv1.2', cert: cert.certPem, key: cert.keyPem };
}

/** No directory: fresh certificates each time, only the CA certificate goes to disk. */
async function inMemory(now: Date): Promise<LocalCertificate> {
  const ca = await makeCa(now);
  const server = await makeServer(ca, now);
  let tempDir: string;
  try {
    tempDir = mkdtempSync(join(tmpdir(), 'ephemera-ca-')); // made with mode 0o700
  } catch (err) {
    throw new Error(
      `Cannot create a temporary directory in ${tmpdir()} (${reason(err)}): make it writable or set TMPDIR to a writable directory.`,
    );
  }
  const caCertPath = join(tempDir, CA_FILE);
  writeFile(caCertPath, ca.cert, 0o644, tempDir);
  return {
    caCertPem: ca.cert,
    caCertPath,
    certPem: pemLine(server.cert) + pemLine(ca.cert),
    keyPem: server.key,
    created: true,
    dispose: () => rmSync(tempDir, { recursive: true, force: true }),
  };
}

async function makeCa(now: Date): Promise<Pair> {
  const notAfter = new Date(now);
  notAfter.setUTCFullYear(notAfter.getUTCFullYear() + CA_VALIDITY_YEARS);
  const pems = await generate(
    [
      { name: 'commonName', value: 'Ephemera local CA' },
      { name: 'organizationName', value: 'Ephemera local mode' },
    ],
    {
      keyType: 'ec',
      curve: 'P-256',
      algorithm: 'sha256',
      notBeforeDate: now,
      notAfterDate: notAfter,
      extensions: [
        { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
        { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
      ],
    },
  );
  return { cert: pemLine(pems.cert), key: pemLine(pems.private) };
}

async function makeServer(ca: Pair, now: Date): Promise<Pair> {
  // Never valid for longer than the CA that signs it.
  const caExpiry = new Date(new X509Certificate(ca.cert).validTo).getTime();
  const notAfter = new Date(Math.min(now.getTime() + SERVER_VALIDITY_DAYS * DAY_MS, caExpiry));
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: now,
    notAfterDate: notAfter,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' },
        ],
      },
    ],
    ca: { key: ca.key, cert: ca.cert },
  });
  return { cert: pemLine(pems.cert), key: pemLine(pems.private) };
}

/** Reads a certificate and its key; undefined when either cannot be read. */
function readPair(certPath: string, keyPath: string): Pair | undefined {
  try {
    return { cert: readFileSync(certPath, 'utf8'), key: readFileSync(keyPath, 'utf8') };
  } catch {
    return undefined;
  }
}

/**
 * Parses a certificate and checks that the key is its private key and that it
 * is valid at `now` and for more than 30 days after. Undefined otherwise
 * (including when either PEM does not parse).
 */
function parseValid(pair: Pair, now: Date): X509Certificate | undefined {
  try {
    const x509 = new X509Certificate(pair.cert);
    const key = createPrivateKey(pair.key);
    const from = new Date(x509.validFrom).getTime();
    const to = new Date(x509.validTo).getTime();
    const ok =
      key.asymmetricKeyType === 'ec' && // selfsigned signs with the CA key as an EC key
      x509.checkPrivateKey(key) &&
      from <= now.getTime() &&
      to - now.getTime() > RENEW_BEFORE_MS;
    return ok ? x509 : undefined;
  } catch {
    return undefined;
  }
}

function usableCa(ca: Pair, now: Date): boolean {
  const x509 = parseValid(ca, now);
  return x509 !== undefined && x509.ca && x509.verify(x509.publicKey);
}

/** Valid, signed by this CA, and for the names local mode is reached by. */
function usableServer(server: Pair, ca: Pair, now: Date): boolean {
  const x509 = parseValid(server, now);
  const caX509 = new X509Certificate(ca.cert);
  return (
    x509 !== undefined &&
    !x509.ca &&
    x509.checkIssued(caX509) &&
    x509.verify(caX509.publicKey) &&
    x509.checkHost('localhost') !== undefined &&
    x509.checkIP('127.0.0.1') !== undefined &&
    x509.checkIP('::1') !== undefined
  );
}

/** Writes the key (0o600) before the certificate, so a certificate on disk always has its key. */
function writePair(dir: string, certName: string, keyName: string, pair: Pair): void {
  writeFile(join(dir, keyName), pair.key, 0o600, dir);
  writeFile(join(dir, certName), pair.cert, 0o644, dir);
}

/**
 * Writes through a temporary file and a rename, so a reader (or a crash)
 * never sees half a file, and the mode is the one asked for even when the
 * file existed before with another.
 */
function writeFile(path: string, data: string, mode: number, dir: string): void {
  const temp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(temp, data, { mode });
    chmodSync(temp, mode); // the umask may have removed bits
    renameSync(temp, path);
  } catch (err) {
    try {
      rmSync(temp, { force: true });
    } catch {
      // Nothing to clean up when the directory cannot be written at all.
    }
    throw new Error(
      `Cannot write ${path} (${reason(err)}): make ${dir} writable or choose another directory.`,
    );
  }
}

/** The PEM ending with a newline (selfsigned leaves it off certificates), so PEMs can be concatenated. */
function pemLine(pem: string): string {
  return pem.endsWith('\n') ? pem : `${pem}\n`;
}

function reason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e.code ?? e.message ?? String(err);
}
