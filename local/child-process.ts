/**
 * Local mode in a child process, as the end-to-end tests and bench/local use
 * it: `local/main.ts` started as `npm run local` starts it (plus `--expose-gc`
 * and an IPC channel for heap measurements, and `--port 0`), every byte of its
 * stdout and stderr captured, and an HTTPS client that trusts its CA and
 * nothing else.
 */

import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import type { LocalCredentials, StoreNames } from './stores';

const ROOT = join(__dirname, '..');

export interface Ready {
  readonly url: string;
  readonly caCertPath: string;
  /** The receipt-signing public key (PEM). */
  readonly receiptKeyPath: string;
  readonly adminKey?: string;
  readonly inferenceKey?: string;
  readonly services: {
    dynamodb: string;
    s3: string;
    kms: string;
    names: StoreNames;
    /** The run's credentials for the stand-ins (SigV4), sent over the IPC channel only. */
    credentials: LocalCredentials;
  };
}

export interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
  /** When each piece of the body arrived (ms, performance.now()). */
  readonly arrivals: readonly { at: number; text: string }[];
}

export interface CallOptions {
  readonly method?: string;
  readonly headers?: Record<string, string | string[]>;
  readonly body?: unknown;
  readonly rawBody?: string;
}

export interface LocalProcess extends Ready {
  readonly ca: string;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  call(path: string, options?: CallOptions): Promise<Answer>;
  /** GET of any https URL (a presigned image URL) trusting only the local CA. */
  get(url: string): Promise<Answer>;
  /** Heap use after a forced GC. */
  heapUsed(): Promise<number>;
  /** Writes a heap snapshot; returns its path. */
  snapshot(file: string): Promise<string>;
  stop(): Promise<void>;
  /** Ends the process at once with SIGKILL (nothing is cleaned up), as a crash would. */
  kill(): Promise<void>;
}

export interface StartOptions {
  readonly env?: Record<string, string>;
  readonly args?: readonly string[];
}

export async function startLocalProcess(options: StartOptions = {}): Promise<LocalProcess> {
  const child: ChildProcess = spawn(
    process.execPath,
    ['--expose-gc', '--import', 'tsx', 'local/main.ts', '--port', '0', ...(options.args ?? [])],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: { ...process.env, NODE_OPTIONS: '', ...options.env },
    },
  );
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString('utf8')));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString('utf8')));
  const ready = await new Promise<Ready>((resolve, reject) => {
    const onExit = (code: number | null) =>
      reject(new Error(`local mode exited with ${code} before it was ready:\n${output}`));
    child.once('exit', onExit);
    child.on('message', (m: { type?: string } & Ready) => {
      if (m.type === 'ready') {
        child.off('exit', onExit);
        resolve(m);
      }
    });
  });
  const ca = readFileSync(ready.caCertPath, 'utf8');

  const ask = <T>(type: string, extra: object, field: string) =>
    new Promise<T>((resolve) => {
      const on = (m: Record<string, unknown>) => {
        if (m.type !== type) return;
        child.off('message', on);
        resolve(m[field] as T);
      };
      child.on('message', on);
      child.send({ type, ...extra });
    });

  function fetchUrl(url: string, options: CallOptions = {}): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const body =
        options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
      const req = httpsRequest(
        url,
        {
          method: options.method ?? (body === undefined ? 'GET' : 'POST'),
          ca,
          headers: {
            ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
            ...options.headers,
          },
        },
        (res) => {
          const arrivals: { at: number; text: string }[] = [];
          res.setEncoding('utf8');
          res.on('data', (text: string) => arrivals.push({ at: performance.now(), text }));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: arrivals.map((a) => a.text).join(''),
              arrivals,
            }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  return {
    ...ready,
    ca,
    output: () => output,
    call: (path, callOptions) => fetchUrl(`${ready.url}${path}`, callOptions),
    get: (url) => fetchUrl(url),
    heapUsed: () => ask<number>('heap', {}, 'heapUsed'),
    snapshot: (file) => ask<string>('snapshot', { file }, 'file'),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGINT');
      }),
    kill: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      }),
  };
}

export const bearer = (key: string | undefined): Record<string, string> => ({
  authorization: `Bearer ${key}`,
});
