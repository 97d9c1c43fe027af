/**
 * Erasure of the synthetic customer, and its signed receipt.
 *
 * Erasure: the customer's usage records are listed (`GET /v1/logs`), then
 * `DELETE /v1/user_data` with the customer id in `X-Ephemera-Metadata`
 * (202), then `GET /v1/user_data/deletions/{id}` is polled until `done`
 * (a deployment starts a job only once the gateway timeout and a tenth have
 * passed, so `--erasure-timeout` is generous). The counts must cover every
 * record listed and no more than the run's tagged requests, the images must
 * be the ones the run stored by URL, the receipt must state the same counts,
 * job id and times and the customer hash the records showed, and afterwards
 * the customer has no records left.
 *
 * Receipt: its ECDSA P-256 / SHA-256 signature over the receipt without
 * `signature` (the compact JSON, keys in the order received, as
 * `jq -cj '.receipt | del(.signature)'` prints it) verifies against the
 * stack's public signing key (`--receipt-key`, PEM). Without that key the
 * signature is a SKIP; the counts are checked above either way.
 */

import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { fail, pass, skip, type Outcome, type SmokeRun, DEFAULT_ERASURE_TIMEOUT_MS } from '../run';
import type { Target } from '../target';
import { customerLogs } from '../logs';

const RECEIPT_ALGORITHM = 'ECDSA_SHA_256';
const JOB_STATUSES = new Set(['queued', 'running', 'done']);

interface Job {
  deletion_id?: string;
  status?: string;
  requested_at?: string;
  completed_at?: string;
  counts?: { records_erased?: number; images_erased?: number };
  receipt?: Record<string, unknown>;
}

/** The exact bytes the receipt's signature covers: the receipt as received, without `signature`. */
export function receiptPayload(receipt: Record<string, unknown>): Buffer {
  const fields = { ...receipt };
  delete fields.signature;
  return Buffer.from(JSON.stringify(fields), 'utf8');
}

/** Reads the public key: a P-256 key in PEM (SPKI, as `openssl pkey -pubin` writes it). */
export function readReceiptKey(pem: string): KeyObject {
  const key = createPublicKey(pem);
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new Error('--receipt-key is not an EC P-256 public key');
  }
  return key;
}

export function verifyReceiptSignature(receipt: Record<string, unknown>, key: KeyObject): boolean {
  if (typeof receipt.signature !== 'string') return false;
  try {
    return verify(
      'sha256',
      receiptPayload(receipt),
      { key, dsaEncoding: 'der' },
      Buffer.from(receipt.signature, 'base64'),
    );
  } catch {
    return false;
  }
}

export async function checkErasure(_target: Target, run: SmokeRun): Promise<Outcome> {
  // Alone (`--only erasure`), the run has tagged nothing yet: one cheap request gives it a record.
  if (!run.customerUsed) await run.inference('/v1/models');
  const tagged = run.target.seen.length; // an upper bound on the records the run can have made
  // The records, listed until the listing holds still (a secondary index is updated asynchronously).
  let listing = await customerLogs(run);
  for (let i = 0; i < 5; i++) {
    await run.sleep(1_000);
    const again = await customerLogs(run);
    const same = again.records.length === listing.records.length;
    listing = again;
    if (same) break;
  }
  const listed = listing.records.length;
  const hashes = new Set(listing.records.map((r) => r.customer_hash));

  const requested = await run.admin('/v1/user_data', {
    method: 'DELETE',
    headers: { 'x-ephemera-metadata': `customer_id=${run.customerId}` },
  });
  const first = requested.json as Job | undefined;
  if (requested.status !== 202 || typeof first?.deletion_id !== 'string') {
    return fail(`DELETE /v1/user_data answered ${requested.status}`);
  }
  const id = first.deletion_id;
  run.erasure = { deletionId: id };
  const timeoutMs = run.settings.erasureTimeoutMs ?? DEFAULT_ERASURE_TIMEOUT_MS;
  run.settings.note?.(
    `waiting for erasure ${id} (up to ${Math.round(timeoutMs / 1000)} s; a deployment starts it after the gateway timeout + 10%)`,
  );
  const started = Date.now();
  // Every second at first (a job often starts within seconds of its wait), then less often.
  const poll = () =>
    Date.now() - started < 30_000 ? 1_000 : (run.settings.pollIntervalMs ?? 5_000);
  let job: Job | undefined;
  for (;;) {
    const answer = await run.admin(`/v1/user_data/deletions/${encodeURIComponent(id)}`);
    job = answer.json as Job | undefined;
    if (answer.status !== 200)
      return fail(`GET /v1/user_data/deletions/{id} answered ${answer.status}`);
    run.erasure.job = job as Record<string, unknown>;
    if (!JOB_STATUSES.has(String(job?.status))) return fail(`job status ${String(job?.status)}`);
    if (job?.status === 'done') break;
    if (Date.now() - started > timeoutMs || run.signal.aborted) {
      return fail(
        `${id} still ${job?.status} after ${Math.round((Date.now() - started) / 1000)} s (--erasure-timeout)`,
      );
    }
    await run.sleep(poll());
  }
  const took = Math.round((Date.now() - started) / 100) / 10;

  const records = job.counts?.records_erased;
  const images = job.counts?.images_erased;
  const receipt = job.receipt;
  const problems: string[] = [];
  if (job.deletion_id !== id) problems.push('the job names another deletion id');
  if (typeof records !== 'number' || records < listed || records > tagged) {
    problems.push(
      `records_erased ${String(records)}, expected ${listed} to ${tagged} (${listed} listed, ${tagged} requests sent)`,
    );
  }
  if (images !== run.imagesStored) {
    problems.push(`images_erased ${String(images)}, expected ${run.imagesStored}`);
  }
  if (!receipt) problems.push('no receipt');
  else {
    const expected: Record<string, unknown> = {
      deletion_id: id,
      records_erased: records,
      images_erased: images,
      requested_at: job.requested_at,
      completed_at: job.completed_at,
      algorithm: RECEIPT_ALGORITHM,
    };
    for (const [field, value] of Object.entries(expected)) {
      if (receipt[field] !== value) problems.push(`the receipt's ${field} differs from the job's`);
    }
    if (hashes.size > 1) problems.push(`the records showed ${hashes.size} customer hashes`);
    if (hashes.size === 1 && receipt.customer_hash !== [...hashes][0]) {
      problems.push("the receipt's customer_hash is not the records' one");
    }
    if (!Array.isArray(receipt.excludes)) problems.push('the receipt has no excludes list');
  }
  const after = await customerLogs(run);
  if (after.records.length > 0) {
    problems.push(`${after.records.length} records of the customer remain`);
  }
  const summary = `${id} done in ${took} s: ${String(records)} records (${listed} listed), ${String(images)} image${images === 1 ? '' : 's'}`;
  if (problems.length > 0) return fail(`${problems.join('; ')} (${summary})`);
  return pass(`${summary}, receipt matches, no records left`);
}

export async function checkReceipt(_target: Target, run: SmokeRun): Promise<Outcome> {
  const receipt = run.erasure?.job?.receipt as Record<string, unknown> | undefined;
  if (!receipt) return fail('no receipt to verify (the erasure did not finish)');
  if (receipt.algorithm !== RECEIPT_ALGORITHM) {
    return fail(`algorithm ${String(receipt.algorithm)}, expected ${RECEIPT_ALGORITHM}`);
  }
  if (!run.settings.receiptKeyPem) {
    return skip('no --receipt-key given: the signature is not checked (the counts are)');
  }
  const key = readReceiptKey(run.settings.receiptKeyPem);
  if (!verifyReceiptSignature(receipt, key)) {
    return fail('the signature does not verify against --receipt-key');
  }
  return pass(
    `ECDSA P-256/SHA-256 signature verifies against --receipt-key (${String(receipt.signing_key)})`,
  );
}
