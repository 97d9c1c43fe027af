/**
 * The state of one `npm run smoke` run, shared by its checks: the synthetic
 * customer every inference request is tagged with, the temporary inference
 * key (made on first use with `POST /v1/keys`), the models found, and what the
 * run created (images by URL, the erasure job), so that the runner can clean
 * up whatever a check left behind.
 *
 * Everything the run creates is its own: a random customer id no one else
 * uses, and a key named `ephemera-smoke-<run id>` that expires within a day
 * even if the run is killed before it can revoke it.
 */

import { randomBytes } from 'node:crypto';
import OpenAI from 'openai';
import type { CallAnswer, CallOptions, Target } from './target';

export type Status = 'PASS' | 'FAIL' | 'SKIP';

/** What one check saw: its verdict and one line about it. */
export interface Outcome {
  readonly status: Status;
  readonly detail: string;
}

export const pass = (detail: string): Outcome => ({ status: 'PASS', detail });
export const fail = (detail: string): Outcome => ({ status: 'FAIL', detail });
export const skip = (detail: string): Outcome => ({ status: 'SKIP', detail });

export interface SmokeSettings {
  /** The chat model to use; @default the first chat model `GET /v1/models` lists */
  readonly model?: string;
  readonly embeddingModel?: string;
  readonly imageModel?: string;
  /** Wait out the image TTL (an image by URL must stop working). @default false */
  readonly waitTtl?: boolean;
  /** How long an erasure may take, from its request to `done`. @default 15 min */
  readonly erasureTimeoutMs?: number;
  /** The stack's receipt signing key, public half (PEM). Without it the signature check is skipped. */
  readonly receiptKeyPem?: string;
  /** Between two polls of the erasure job, after its first 30 s (every second before). @default 5000 */
  readonly pollIntervalMs?: number;
  /** Told about waits a person may wonder about (the image TTL, the erasure). */
  readonly note?: (message: string) => void;
}

export const DEFAULT_ERASURE_TIMEOUT_MS = 15 * 60_000;

export interface TempKey {
  readonly id: string;
  /** The secret in use (after a rotation, the new one). */
  key: string;
  /** Every secret the key has had, for the revocation check. */
  readonly secrets: string[];
}

/** A model found by trying the candidates `GET /v1/models` lists, or why none was. */
export type Found<T> =
  | { readonly kind: 'found'; readonly model: string; readonly value: T; readonly tried: number }
  | { readonly kind: 'none'; readonly tried: readonly string[] }
  | { readonly kind: 'error'; readonly model: string; readonly detail: string };

export interface ErasureState {
  readonly deletionId: string;
  /** The job as `GET /v1/user_data/deletions/{id}` last showed it. */
  job?: Record<string, unknown>;
}

const EMBEDDING_ID = /embed/i;
const IMAGE_ID = /image|dall-e|diffusion|canvas|flux|sdxl/i;
/** At most this many models are tried when looking for one of a kind. */
const MAX_CANDIDATES = 50;

/** A short, secret-free description of an error. */
export function describeError(err: unknown): string {
  if (err instanceof OpenAI.APIError && err.status) {
    return `${err.status} ${err.code ?? (err.type as string | undefined) ?? 'error'}`;
  }
  const e = err as { name?: string; code?: string; message?: string; cause?: { code?: string } };
  const what = [e?.name ?? 'Error', e?.code ?? e?.cause?.code].filter(Boolean).join(' ');
  const message = String(e?.message ?? err).split('\n')[0];
  return `${what}: ${message.length > 160 ? `${message.slice(0, 160)}...` : message}`;
}

export function isModelNotFound(err: unknown): boolean {
  return err instanceof OpenAI.APIError && err.status === 404 && err.code === 'model_not_found';
}

export class SmokeRun {
  readonly id = randomBytes(6).toString('hex');
  /** The synthetic customer: random, used by no one else, erased at the end. */
  readonly customerId = `smoke-${randomBytes(12).toString('hex')}`;
  /** Secrets never to print (the runner redacts them from every line). */
  readonly secrets = new Set<string>();
  tempKey?: TempKey;
  keyRevoked = false;
  /** Whether a request tagged with the customer was sent (so there is something to erase). */
  customerUsed = false;
  /** Images the run stored by URL under the customer. */
  imagesStored = 0;
  erasure?: ErasureState;
  private keyPromise?: Promise<TempKey>;
  private client?: OpenAI;
  private modelList?: Promise<string[]>;
  private readonly found = new Map<string, Promise<Found<unknown>>>();

  constructor(
    readonly target: Target,
    readonly settings: SmokeSettings,
    readonly signal: AbortSignal = new AbortController().signal,
  ) {
    this.secrets.add(target.adminKey);
  }

  /** The customer tag, marking the customer as used. */
  tag(): Record<string, string> {
    this.customerUsed = true;
    return { 'x-ephemera-metadata': `customer_id=${this.customerId}` };
  }

  admin(path: string, options: Omit<CallOptions, 'key'> = {}): Promise<CallAnswer> {
    return this.target.api(path, { signal: this.signal, ...options, key: this.target.adminKey });
  }

  /** An inference call with the temporary key, tagged with the customer. */
  async inference(path: string, options: Omit<CallOptions, 'key'> = {}): Promise<CallAnswer> {
    const { key } = await this.key();
    return this.target.api(path, {
      signal: this.signal,
      ...options,
      key,
      headers: { ...this.tag(), ...options.headers },
    });
  }

  /** The temporary inference key, created on first use. */
  key(): Promise<TempKey> {
    this.keyPromise ??= (async () => {
      const answer = await this.admin('/v1/keys', {
        body: { name: `ephemera-smoke-${this.id}`, scopes: ['inference'], expires_in_days: 1 },
      });
      const body = answer.json as { id?: string; key?: string } | undefined;
      if (answer.status !== 201 || !body?.id || !body.key) {
        throw new Error(`POST /v1/keys answered ${answer.status}: no temporary key`);
      }
      this.secrets.add(body.key);
      this.tempKey = { id: body.id, key: body.key, secrets: [body.key] };
      return this.tempKey;
    })();
    return this.keyPromise;
  }

  /** Puts a new secret of the temporary key in use (after a rotation). */
  useSecret(key: string): void {
    if (!this.tempKey) return;
    this.secrets.add(key);
    this.tempKey.secrets.push(key);
    this.tempKey.key = key;
    this.client = undefined;
  }

  /** The official OpenAI client on the temporary key, tagged with the customer. */
  async openai(): Promise<OpenAI> {
    const { key } = await this.key();
    this.client ??= new OpenAI({
      apiKey: key,
      organization: null,
      project: null,
      baseURL: `${this.target.url}/v1`,
      fetch: this.target.apiFetch,
      maxRetries: 0,
      timeout: 120_000,
      defaultHeaders: this.tag(),
    });
    return this.client;
  }

  /** The model ids `GET /v1/models` lists. */
  models(): Promise<string[]> {
    this.modelList ??= (async () => {
      const answer = await this.inference('/v1/models');
      const data = (answer.json as { data?: { id?: unknown }[] } | undefined)?.data;
      if (answer.status !== 200 || !Array.isArray(data)) {
        throw new Error(`GET /v1/models answered ${answer.status}`);
      }
      return data.map((m) => m.id).filter((id): id is string => typeof id === 'string');
    })();
    return this.modelList;
  }

  /**
   * The first model of a kind: `chosen` if given, else the listed models,
   * likeliest first, tried with `call` until one is not `404 model_not_found`
   * (a model of another kind is refused before any upstream call). The value
   * is what `call` returned for that model, so the first try is the check.
   */
  discover<T>(
    kind: 'chat' | 'embedding' | 'image',
    call: (model: string) => Promise<T>,
  ): Promise<Found<T>> {
    let found = this.found.get(kind);
    if (!found) {
      found = (async (): Promise<Found<unknown>> => {
        const chosen = {
          chat: this.settings.model,
          embedding: this.settings.embeddingModel,
          image: this.settings.imageModel,
        }[kind];
        const candidates = chosen ? [chosen] : orderCandidates(kind, await this.models());
        const tried: string[] = [];
        for (const model of candidates) {
          tried.push(model);
          try {
            return { kind: 'found', model, value: await call(model), tried: tried.length };
          } catch (err) {
            if (isModelNotFound(err)) continue;
            return { kind: 'error', model, detail: describeError(err) };
          }
        }
        return { kind: 'none', tried };
      })();
      this.found.set(kind, found);
    }
    return found as Promise<Found<T>>;
  }

  /** Waits, or ends early when the run is stopped. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.signal.aborted) return resolve();
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.signal.addEventListener('abort', done, { once: true });
    });
  }
}

/** The listed models, likeliest of the kind first (by id), at most {@link MAX_CANDIDATES}. */
export function orderCandidates(
  kind: 'chat' | 'embedding' | 'image',
  ids: readonly string[],
): string[] {
  const likely = (id: string) =>
    kind === 'embedding'
      ? EMBEDDING_ID.test(id)
      : kind === 'image'
        ? IMAGE_ID.test(id)
        : !EMBEDDING_ID.test(id) && !IMAGE_ID.test(id);
  return [...ids.filter(likely), ...ids.filter((id) => !likely(id))].slice(0, MAX_CANDIDATES);
}
