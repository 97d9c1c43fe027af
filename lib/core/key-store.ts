/**
 * API key store (promise P8): keys shown once, stored only as keyed hashes,
 * scoped, expiring, rotatable with a grace period, revocable at once.
 *
 * One item per key in the key table (partition key `key_id`, TTL attribute `ttl`):
 *
 * | attribute             | type | meaning                                                        |
 * |-----------------------|------|----------------------------------------------------------------|
 * | key_id                | S    | public key id, 16 of `[a-z0-9]`                                |
 * | name                  | S    | 1-64 of `[A-Za-z0-9 ._-]`, who or what the key is for           |
 * | scopes                | SS   | `inference` and/or `admin`                                     |
 * | secret_mac            | B    | HMAC (domain `apikey`) of `${key_id}:${secret}`                |
 * | previous_secret_mac   | B    | the MAC before the last rotation                               |
 * | previous_valid_until  | N    | epoch s; the previous secret is accepted strictly before it    |
 * | created_at            | S    | ISO-8601 UTC                                                   |
 * | expires_at            | N    | epoch s; the key is refused from this second on               |
 * | revoked_at            | N    | epoch s, present once revoked                                  |
 * | ttl                   | N    | expires_at + 30 d, or revoked_at + 30 d once revoked           |
 *
 * `verify` reads the item with a strongly consistent GetItem on every call and
 * never caches it, so a revocation takes effect at once. For a known id, the MAC
 * of the presented secret is compared with `crypto.timingSafeEqual`; an unknown
 * id is refused without one (ids are public, and a made-up key must not cost a
 * KMS call). A secret that verified before is checked from the in-memory cache;
 * any other costs a KMS call, is cached only if it verifies, and passes two
 * `FailureGate`s first: one per key id and client address, so one client's
 * guesses at a real key id cost a handful of KMS calls and then back off
 * without holding up the key's holder elsewhere; and one per key id with a
 * higher threshold, which bounds what many clients together can cost. Guesses
 * never evict real keys or customer hashes from the cache. The secret is checked before the key's state, so only a
 * holder of the secret learns that a key expired or was revoked.
 */

import { timingSafeEqual } from 'node:crypto';
import {
  ConditionalCheckFailedException,
  GetItemCommand,
  PutItemCommand,
  ScanCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { formatApiKey, isKeyId, newApiKey, newSecret, parseBearer } from './api-key';
import { FailureGate } from './failure-gate';
import { awsErrorName, KeyedHashError, type KeyedHasher } from './keyed-hash';

export type Scope = 'inference' | 'admin';
export const SCOPES: readonly Scope[] = ['inference', 'admin'];

export const DEFAULT_EXPIRES_IN_DAYS = 90;
export const MAX_EXPIRES_IN_DAYS = 365;
export const DEFAULT_GRACE_SECONDS = 86_400;
export const MAX_GRACE_SECONDS = 604_800;
export const DEFAULT_LIST_LIMIT = 50;
export const MAX_LIST_LIMIT = 100;
/** Items stay this long after expiry or revocation, then DynamoDB TTL removes them. */
export const RETENTION_AFTER_END_SECONDS = 30 * 86_400;

const NAME_PATTERN = /^[A-Za-z0-9 ._-]{1,64}$/;
const DAY_SECONDS = 86_400;
const MAC_BYTES = 32;

export type VerifyFailureReason =
  'missing' | 'malformed' | 'unknown' | 'invalid' | 'expired' | 'revoked' | 'scope';

export type VerifyFailure =
  | { ok: false; status: 401 | 403; reason: VerifyFailureReason }
  /** Too many failed secrets for this key id on this instance: no KMS call was made. */
  | { ok: false; status: 429; reason: 'throttled'; retryAfterSeconds: number };

export type VerifyResult = { ok: true; keyId: string; scopes: Scope[] } | VerifyFailure;

export interface CreatedKey {
  id: string;
  /** The whole `eph_...` key. Shown once; never stored. */
  key: string;
  name: string;
  scopes: Scope[];
  /** ISO-8601 UTC. */
  expires_at: string;
}

export interface RotatedKey {
  id: string;
  /** The new whole `eph_...` key. Shown once; never stored. */
  key: string;
  /** ISO-8601 UTC; rotation does not extend the key's life. */
  expires_at: string;
  /** ISO-8601 UTC; the previous secret is accepted strictly before this instant. */
  previous_valid_until: string;
}

export interface KeySummary {
  id: string;
  name: string;
  scopes: Scope[];
  created_at: string;
  expires_at: string;
  revoked_at?: string;
}

export interface KeyList {
  data: KeySummary[];
  next_cursor: string | null;
}

export interface KeyStoreDeps {
  readonly ddb: DynamoDBClient;
  readonly tableName: string;
  readonly hasher: KeyedHasher;
  /** Clock, injectable for tests. @default () => new Date() */
  readonly now?: () => Date;
  /**
   * Bounds the KMS calls failed secrets from one client address can cost per
   * key id. @default a FailureGate with its defaults (5 free attempts)
   */
  readonly failures?: FailureGate;
  /**
   * Bounds the KMS calls failed secrets from all clients together can cost per
   * key id. @default a FailureGate with 50 free attempts
   */
  readonly keyFailures?: FailureGate;
  /** Longest life of a new key, in days (the deployment's maximum key age, 1-365). @default 365 */
  readonly maxExpiresInDays?: number;
}

/** Invalid input; the message names the field and the allowed range (maps to 400). */
export class KeyStoreInputError extends Error {
  override readonly name = 'KeyStoreInputError';
}

/**
 * `rotate` found no usable key: `unknown` (maps to 404), `revoked` or `expired`
 * (map to 409). The message holds only the public key id.
 */
export class KeyStateError extends Error {
  override readonly name = 'KeyStateError';
  constructor(
    readonly keyId: string,
    readonly reason: 'unknown' | 'revoked' | 'expired',
  ) {
    super(
      reason === 'unknown'
        ? `API key ${keyId} does not exist`
        : reason === 'revoked'
          ? `API key ${keyId} is revoked`
          : `API key ${keyId} has expired`,
    );
  }
}

/**
 * DynamoDB or KMS failed (maps to 503). The message is fixed; `source` and the
 * AWS `errorName` are safe to log as metadata.
 */
export class KeyStoreUnavailableError extends Error {
  override readonly name = 'KeyStoreUnavailableError';
  constructor(
    readonly source: 'dynamodb' | 'kms',
    readonly errorName?: string,
  ) {
    super(
      source === 'dynamodb'
        ? 'Key store unavailable: DynamoDB error'
        : 'Key store unavailable: KMS error',
    );
  }
}

function isConditionalFailure(err: unknown): boolean {
  return (
    err instanceof ConditionalCheckFailedException ||
    (typeof err === 'object' &&
      err !== null &&
      (err as { name?: unknown }).name === 'ConditionalCheckFailedException')
  );
}

function isInteger(v: unknown, min: number, max: number): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max;
}

function validateName(name: unknown, problems: string[]): void {
  if (typeof name !== 'string' || !NAME_PATTERN.test(name)) {
    problems.push("name must be 1-64 characters of letters, digits, space, '.', '_' or '-'");
  }
}

function validateScopes(scopes: unknown, problems: string[]): Scope[] {
  if (
    !Array.isArray(scopes) ||
    scopes.length === 0 ||
    !scopes.every((s) => typeof s === 'string' && (SCOPES as readonly string[]).includes(s))
  ) {
    problems.push("scopes must be a non-empty list of 'inference' and/or 'admin'");
    return [];
  }
  return SCOPES.filter((s) => (scopes as string[]).includes(s));
}

function validateId(id: unknown): string {
  if (!isKeyId(id)) {
    throw new KeyStoreInputError('id must be 16 characters of lowercase letters and digits');
  }
  return id;
}

const isoFromEpoch = (s: number): string => new Date(s * 1000).toISOString();

function num(item: Record<string, AttributeValue>, name: string): number | undefined {
  const v = item[name]?.N;
  if (v === undefined) return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

function scopesOf(item: Record<string, AttributeValue>): Scope[] {
  const ss = item.scopes?.SS ?? [];
  return SCOPES.filter((s) => ss.includes(s));
}

function macEquals(presented: Buffer, stored: Uint8Array | undefined): boolean {
  if (!stored || stored.length !== MAC_BYTES || presented.length !== MAC_BYTES) return false;
  return timingSafeEqual(presented, stored);
}

function encodeCursor(lastKey: Record<string, AttributeValue> | undefined): string | null {
  const id = lastKey?.key_id?.S;
  return id ? Buffer.from(JSON.stringify({ k: id }), 'utf8').toString('base64url') : null;
}

const CURSOR_MESSAGE = 'cursor must be a next_cursor value returned by a previous list call';

function decodeCursor(cursor: unknown): string {
  if (
    typeof cursor !== 'string' ||
    cursor.length === 0 ||
    cursor.length > 200 ||
    !/^[A-Za-z0-9_-]+$/.test(cursor)
  ) {
    throw new KeyStoreInputError(CURSOR_MESSAGE);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new KeyStoreInputError(CURSOR_MESSAGE);
  }
  const k = (parsed as { k?: unknown } | null)?.k;
  if (!isKeyId(k)) throw new KeyStoreInputError(CURSOR_MESSAGE);
  return k;
}

/** Failed attempts per key id, from all clients together, before that key id backs off. */
export const KEY_FREE_FAILURES = 50;

export class KeyStore {
  private readonly ddb: DynamoDBClient;
  private readonly tableName: string;
  private readonly hasher: KeyedHasher;
  private readonly now: () => Date;
  private readonly failures: FailureGate;
  private readonly keyFailures: FailureGate;
  private readonly maxExpiresInDays: number;
  /** MACs being computed for verification, by message, so concurrent requests share one. */
  private readonly pendingMacs = new Map<string, Promise<Buffer>>();

  constructor(deps: KeyStoreDeps) {
    if (typeof deps.tableName !== 'string' || deps.tableName.length === 0) {
      throw new Error('KeyStore: tableName is required');
    }
    this.ddb = deps.ddb;
    this.tableName = deps.tableName;
    this.hasher = deps.hasher;
    this.now = deps.now ?? (() => new Date());
    this.failures = deps.failures ?? new FailureGate();
    this.keyFailures = deps.keyFailures ?? new FailureGate({ freeFailures: KEY_FREE_FAILURES });
    this.maxExpiresInDays = deps.maxExpiresInDays ?? MAX_EXPIRES_IN_DAYS;
    if (!isInteger(this.maxExpiresInDays, 1, MAX_EXPIRES_IN_DAYS)) {
      throw new Error(`KeyStore: maxExpiresInDays must be from 1 to ${MAX_EXPIRES_IN_DAYS}`);
    }
  }

  /** Creates a key; the returned `key` is the only copy of the secret. */
  async create(input: {
    name: string;
    scopes: Scope[];
    expiresInDays?: number;
  }): Promise<CreatedKey> {
    const problems: string[] = [];
    const raw = (input ?? {}) as { name?: unknown; scopes?: unknown; expiresInDays?: unknown };
    validateName(raw.name, problems);
    const scopes = validateScopes(raw.scopes, problems);
    const max = this.maxExpiresInDays;
    const defaultDays = Math.min(DEFAULT_EXPIRES_IN_DAYS, max);
    const days = raw.expiresInDays ?? defaultDays;
    if (!isInteger(days, 1, max)) {
      problems.push(
        `expires_in_days must be a whole number from 1 to ${max} (default ${defaultDays})`,
      );
    }
    if (problems.length > 0) throw new KeyStoreInputError(problems.join('; '));
    const name = raw.name as string;

    const nowMs = this.now().getTime();
    const nowS = Math.floor(nowMs / 1000);
    const expiresAt = nowS + (days as number) * DAY_SECONDS;

    // A collision of two random 16-character ids is astronomically unlikely;
    // the conditional put makes it harmless, and up to two retries with new ids cover it.
    for (let attempt = 0; ; attempt++) {
      const { keyId, secret, key } = newApiKey();
      const mac = await this.macOf(keyId, secret);
      try {
        await this.ddb.send(
          new PutItemCommand({
            TableName: this.tableName,
            Item: {
              key_id: { S: keyId },
              name: { S: name },
              scopes: { SS: scopes },
              secret_mac: { B: mac },
              created_at: { S: new Date(nowMs).toISOString() },
              expires_at: { N: String(expiresAt) },
              ttl: { N: String(expiresAt + RETENTION_AFTER_END_SECONDS) },
            },
            ConditionExpression: 'attribute_not_exists(key_id)',
          }),
        );
      } catch (err) {
        if (isConditionalFailure(err) && attempt < 2) continue;
        throw new KeyStoreUnavailableError('dynamodb', awsErrorName(err));
      }
      return { id: keyId, key, name, scopes, expires_at: isoFromEpoch(expiresAt) };
    }
  }

  /**
   * Asks both gates to let one costly check of a secret for `keyId` run: the
   * client's own first, then the key id's. Either one's wait is the answer;
   * a check let through must end with `finish` or `cancel`.
   */
  private startCheck(
    keyId: string,
    client: string,
  ): { waitMs: number; finish: (nowMs: number, ok: boolean) => void; cancel: () => void } {
    const nowMs = this.now().getTime();
    const clientId = `${keyId} ${client}`;
    const clientWait = this.failures.tryStart(clientId, nowMs);
    const refused = (waitMs: number) => ({
      waitMs,
      finish: () => undefined,
      cancel: () => undefined,
    });
    if (clientWait > 0) return refused(clientWait);
    const keyWait = this.keyFailures.tryStart(keyId, nowMs);
    if (keyWait > 0) {
      this.failures.cancel(clientId);
      return refused(keyWait);
    }
    return {
      waitMs: 0,
      finish: (at, ok) => {
        this.failures.finish(clientId, at, ok);
        this.keyFailures.finish(keyId, at, ok);
      },
      cancel: () => {
        this.failures.cancel(clientId);
        this.keyFailures.cancel(keyId);
      },
    };
  }

  /**
   * Checks an `Authorization` header and a required scope. `client` is the
   * caller's network address as the front door saw it ('' when unknown): it
   * keys the back-off, in memory only. Only DynamoDB or KMS failures reject
   * (with `KeyStoreUnavailableError`); every other outcome is a result.
   */
  async verify(
    authorization: string | undefined,
    required: Scope,
    client = '',
  ): Promise<VerifyResult> {
    const parsed = parseBearer(authorization);
    if ('error' in parsed) return { ok: false, status: 401, reason: parsed.error };
    const { keyId, secret } = parsed;

    // The key record first: an unknown id costs no KMS call, so requests with
    // made-up keys cannot spend the account's KMS quota (key ids are public,
    // so answering them faster reveals nothing).
    let item;
    try {
      const out = await this.ddb.send(
        new GetItemCommand({
          TableName: this.tableName,
          Key: { key_id: { S: keyId } },
          ConsistentRead: true,
          ProjectionExpression:
            'key_id, scopes, secret_mac, previous_secret_mac, previous_valid_until, expires_at, revoked_at',
        }),
      );
      item = out.Item;
    } catch (e) {
      throw new KeyStoreUnavailableError('dynamodb', awsErrorName(e));
    }
    if (!item) return { ok: false, status: 401, reason: 'unknown' };
    const message = `${keyId}:${secret}`;
    let mac = this.hasher.cached?.('apikey', message);
    let finishCheck: ((nowMs: number, ok: boolean) => void) | undefined;
    if (!mac) {
      const pending = this.pendingMacs.get(message);
      if (pending) {
        mac = await pending;
      } else {
        const gate = this.startCheck(keyId, client);
        if (gate.waitMs > 0) {
          return {
            ok: false,
            status: 429,
            reason: 'throttled',
            retryAfterSeconds: Math.max(1, Math.ceil(gate.waitMs / 1000)),
          };
        }
        finishCheck = gate.finish;
        const computing = this.macOf(keyId, secret, false);
        this.pendingMacs.set(message, computing);
        try {
          mac = await computing;
        } catch (err) {
          // KMS failed: not the caller's fault, so the attempt counts neither way.
          gate.cancel();
          throw err;
        } finally {
          this.pendingMacs.delete(message);
        }
      }
    }

    const nowMs = this.now().getTime();
    const currentOk = macEquals(mac, item.secret_mac?.B);
    const previousUntil = num(item, 'previous_valid_until');
    const previousOk =
      macEquals(mac, item.previous_secret_mac?.B) &&
      previousUntil !== undefined &&
      nowMs < previousUntil * 1000;
    finishCheck?.(nowMs, currentOk || previousOk);
    if (!currentOk && !previousOk) return { ok: false, status: 401, reason: 'invalid' };
    // Proved right: from now on this secret is checked without KMS.
    this.hasher.remember?.('apikey', message, mac);

    if (item.revoked_at !== undefined) return { ok: false, status: 401, reason: 'revoked' };
    const expiresAt = num(item, 'expires_at');
    if (expiresAt === undefined || nowMs >= expiresAt * 1000) {
      return { ok: false, status: 401, reason: 'expired' };
    }
    const scopes = scopesOf(item);
    if (!scopes.includes(required)) return { ok: false, status: 403, reason: 'scope' };
    return { ok: true, keyId, scopes };
  }

  /**
   * Replaces the key's secret. The previous secret stays valid for
   * `graceSeconds` (0 ends it at once); a second rotation within the grace
   * period ends the grace of the first. The expiry is unchanged.
   * Throws `KeyStateError` if the key does not exist, is revoked or has expired.
   */
  async rotate(id: string, graceSeconds: number = DEFAULT_GRACE_SECONDS): Promise<RotatedKey> {
    const keyId = validateId(id);
    if (!isInteger(graceSeconds, 0, MAX_GRACE_SECONDS)) {
      throw new KeyStoreInputError(
        `grace_seconds must be a whole number from 0 to ${MAX_GRACE_SECONDS} (default ${DEFAULT_GRACE_SECONDS})`,
      );
    }
    const secret = newSecret();
    const mac = await this.macOf(keyId, secret);
    const nowMs = this.now().getTime();
    const nowS = Math.floor(nowMs / 1000);
    // Accepted strictly before this instant, so a grace of 0 ends it now.
    const previousValidUntil = nowS + graceSeconds;

    let attributes: Record<string, AttributeValue> | undefined;
    try {
      const out = await this.ddb.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { key_id: { S: keyId } },
          UpdateExpression:
            'SET previous_secret_mac = secret_mac, secret_mac = :mac, previous_valid_until = :pvu',
          ConditionExpression:
            'attribute_exists(key_id) AND attribute_not_exists(revoked_at) AND expires_at > :now',
          ExpressionAttributeValues: {
            ':mac': { B: mac },
            ':pvu': { N: String(previousValidUntil) },
            ':now': { N: String(nowS) },
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      attributes = out.Attributes;
    } catch (err) {
      if (isConditionalFailure(err)) {
        throw new KeyStateError(keyId, await this.stateOf(keyId));
      }
      throw new KeyStoreUnavailableError('dynamodb', awsErrorName(err));
    }
    const expiresAt = attributes ? num(attributes, 'expires_at') : undefined;
    if (expiresAt === undefined) throw new KeyStoreUnavailableError('dynamodb');
    return {
      id: keyId,
      key: formatApiKey(keyId, secret),
      expires_at: isoFromEpoch(expiresAt),
      previous_valid_until: isoFromEpoch(previousValidUntil),
    };
  }

  /**
   * Revokes a key at once. Returns false if there is no such key; revoking a
   * revoked key returns true and changes nothing (the first revocation time stays).
   */
  async revoke(id: string): Promise<boolean> {
    const keyId = validateId(id);
    const nowS = Math.floor(this.now().getTime() / 1000);
    try {
      await this.ddb.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { key_id: { S: keyId } },
          UpdateExpression: 'SET revoked_at = :now, #ttl = :ttl',
          ConditionExpression: 'attribute_exists(key_id) AND attribute_not_exists(revoked_at)',
          ExpressionAttributeNames: { '#ttl': 'ttl' },
          ExpressionAttributeValues: {
            ':now': { N: String(nowS) },
            ':ttl': { N: String(nowS + RETENTION_AFTER_END_SECONDS) },
          },
        }),
      );
      return true;
    } catch (err) {
      if (isConditionalFailure(err)) {
        return (await this.stateOf(keyId)) !== 'unknown';
      }
      throw new KeyStoreUnavailableError('dynamodb', awsErrorName(err));
    }
  }

  /** Lists keys (metadata only, never MACs), in table order, `limit` per page (1-100, default 50). */
  async list(opts: { limit?: number; cursor?: string } = {}): Promise<KeyList> {
    const limit = opts.limit ?? DEFAULT_LIST_LIMIT;
    if (!isInteger(limit, 1, MAX_LIST_LIMIT)) {
      throw new KeyStoreInputError(
        `limit must be a whole number from 1 to ${MAX_LIST_LIMIT} (default ${DEFAULT_LIST_LIMIT})`,
      );
    }
    const start =
      opts.cursor === undefined ? undefined : { key_id: { S: decodeCursor(opts.cursor) } };
    let items: Record<string, AttributeValue>[];
    let lastKey: Record<string, AttributeValue> | undefined;
    try {
      const out = await this.ddb.send(
        new ScanCommand({
          TableName: this.tableName,
          Limit: limit,
          ExclusiveStartKey: start,
          ProjectionExpression: 'key_id, #name, scopes, created_at, expires_at, revoked_at',
          ExpressionAttributeNames: { '#name': 'name' },
        }),
      );
      items = out.Items ?? [];
      lastKey = out.LastEvaluatedKey;
    } catch (err) {
      throw new KeyStoreUnavailableError('dynamodb', awsErrorName(err));
    }
    const data = items.map((item): KeySummary => {
      const revokedAt = num(item, 'revoked_at');
      const summary: KeySummary = {
        id: item.key_id?.S ?? '',
        name: item.name?.S ?? '',
        scopes: scopesOf(item),
        created_at: item.created_at?.S ?? '',
        expires_at: isoFromEpoch(num(item, 'expires_at') ?? 0),
      };
      if (revokedAt !== undefined) summary.revoked_at = isoFromEpoch(revokedAt);
      return summary;
    });
    return { data, next_cursor: encodeCursor(lastKey) };
  }

  /**
   * The MAC of a secret; rejects only with `KeyStoreUnavailableError('kms')`.
   * `remember: false` for a secret not yet known to be right.
   */
  private async macOf(keyId: string, secret: string, remember = true): Promise<Buffer> {
    try {
      return await this.hasher.mac('apikey', `${keyId}:${secret}`, { remember });
    } catch (err) {
      throw new KeyStoreUnavailableError(
        'kms',
        err instanceof KeyedHashError ? err.errorName : undefined,
      );
    }
  }

  /** Why a conditional update failed, from a consistent read. */
  private async stateOf(keyId: string): Promise<'unknown' | 'revoked' | 'expired'> {
    let item: Record<string, AttributeValue> | undefined;
    try {
      const out = await this.ddb.send(
        new GetItemCommand({
          TableName: this.tableName,
          Key: { key_id: { S: keyId } },
          ConsistentRead: true,
          ProjectionExpression: 'key_id, expires_at, revoked_at',
        }),
      );
      item = out.Item;
    } catch (err) {
      throw new KeyStoreUnavailableError('dynamodb', awsErrorName(err));
    }
    if (!item) return 'unknown';
    if (item.revoked_at !== undefined) return 'revoked';
    // The only other condition is `expires_at > now`.
    return 'expired';
  }
}
