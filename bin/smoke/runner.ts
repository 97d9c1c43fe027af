/**
 * Runs the smoke checks against one target, one line each, and always cleans
 * up what the run created: the temporary key is revoked and the synthetic
 * customer's erasure requested, whether the checks passed, failed, threw or
 * were stopped. Every line is stripped of anything that looks like an API key
 * and of every secret the run knows (the admin key, the temporary key's
 * secrets) before anyone sees it.
 */

import { SmokeRun, describeError, fail, type Outcome, type SmokeSettings } from './run';
import type { Target } from './target';
import { checkAuth } from './checks/auth';
import { checkCanary } from './checks/canary';
import { checkErasure, checkReceipt } from './checks/erasure';
import { checkImageTtl } from './checks/image-ttl';
import { checkChat, checkChatStream, checkEmbeddings, checkResponses } from './checks/inference';
import { checkRevocation, checkRotation } from './checks/keys';
import { checkRetention } from './checks/retention';
import { checkTls } from './checks/tls';

export interface Check {
  readonly id: string;
  /** What a PASS proves, for `--help` and the docs. */
  readonly proves: string;
  /** Checks this one reads the results of (run first when this one is chosen alone). */
  readonly needs?: readonly string[];
  readonly run: (target: Target, run: SmokeRun) => Promise<Outcome>;
}

/** In the order they run: the key is revoked and the customer erased last, the retention review closes. */
export const CHECKS: readonly Check[] = [
  { id: 'tls', proves: 'TLS 1.0 and 1.1 refused, TLS 1.3 negotiated', run: checkTls },
  {
    id: 'auth',
    proves: 'no key / a wrong key 401, inference key on admin / admin key on inference 403',
    run: checkAuth,
  },
  { id: 'chat', proves: 'a chat completion on a configured model', run: checkChat },
  {
    id: 'chat-stream',
    proves: 'a streamed chat completion ending in [DONE]',
    run: checkChatStream,
  },
  { id: 'responses', proves: 'the Responses API', run: checkResponses },
  {
    id: 'embeddings',
    proves: 'embeddings (SKIP without an embedding model)',
    run: checkEmbeddings,
  },
  {
    id: 'canary',
    proves: 'no request content in GET /v1/logs or in any error body',
    run: checkCanary,
  },
  {
    id: 'image-ttl',
    proves: 'an image URL stops working after its TTL (--wait-ttl)',
    run: checkImageTtl,
  },
  {
    id: 'key-rotation',
    proves: 'old and new secrets both work in the grace period',
    run: checkRotation,
  },
  { id: 'key-revocation', proves: 'a revoked key is a 401 at once', run: checkRevocation },
  {
    id: 'erasure',
    proves: 'the customer erased: job done, counts and receipt match, no records left',
    run: checkErasure,
  },
  {
    id: 'receipt',
    proves: 'the receipt signature verifies against --receipt-key',
    needs: ['erasure'],
    run: checkReceipt,
  },
  {
    id: 'retention',
    proves: 'X-Ephemera-Retention on every answer, 404s and errors too',
    run: checkRetention,
  },
];

export interface CheckResult extends Outcome {
  readonly id: string;
  readonly ms: number;
}

export interface SmokeReport {
  readonly results: readonly CheckResult[];
  /** One line per clean-up step. */
  readonly cleanup: readonly string[];
  readonly durationMs: number;
  /** True when no check failed and the clean-up went through. */
  readonly ok: boolean;
  readonly customerId: string;
}

export interface RunOptions extends SmokeSettings {
  /** Only these checks (and what they need). @default every check */
  readonly only?: readonly string[];
  readonly signal?: AbortSignal;
  /** Told each result as it comes. */
  readonly onResult?: (result: CheckResult) => void;
}

/** Whole API keys (`eph_<id>_<secret>`), whatever they are. */
const API_KEY_SHAPE = /eph_[a-z0-9]{16}_[\w-]{43}/g;

/** Removes every secret the run knows, and anything shaped like a key, from a line. */
export function redact(line: string, secrets: Iterable<string>): string {
  let out = line;
  for (const secret of secrets) if (secret) out = out.split(secret).join('<redacted>');
  return out.replace(API_KEY_SHAPE, '<redacted>');
}

/** The checks to run for `only`, in run order. Throws on an unknown id. */
export function selectChecks(only?: readonly string[]): Check[] {
  if (!only || only.length === 0) return [...CHECKS];
  const ids = new Set<string>();
  const add = (id: string) => {
    const check = CHECKS.find((c) => c.id === id);
    if (!check)
      throw new Error(`unknown check ${id}: one of ${CHECKS.map((c) => c.id).join(', ')}`);
    check.needs?.forEach(add);
    ids.add(id);
  };
  only.forEach(add);
  return CHECKS.filter((c) => ids.has(c.id));
}

export async function runSmoke(target: Target, options: RunOptions = {}): Promise<SmokeReport> {
  const started = Date.now();
  const checks = selectChecks(options.only);
  const run = new SmokeRun(target, options, options.signal);
  const results: CheckResult[] = [];
  const clean = (line: string) => redact(line, run.secrets);
  let cleanup: string[] = [];
  try {
    for (const check of checks) {
      const at = Date.now();
      let outcome: Outcome;
      if (run.signal.aborted) outcome = fail('not run: stopped');
      else {
        try {
          outcome = await check.run(target, run);
        } catch (err) {
          outcome = fail(`stopped on ${describeError(err)}`);
        }
      }
      const result: CheckResult = {
        id: check.id,
        status: outcome.status,
        detail: clean(outcome.detail),
        ms: Date.now() - at,
      };
      results.push(result);
      options.onResult?.(result);
    }
  } finally {
    // Whatever happened above (even a throw from onResult), the run's leftovers go.
    cleanup = (await cleanUp(run)).map(clean);
    target.close();
  }
  const failed = results.some((r) => r.status === 'FAIL');
  return {
    results,
    cleanup,
    durationMs: Date.now() - started,
    ok: !failed && !cleanup.some((line) => line.startsWith('FAILED')),
    customerId: run.customerId,
  };
}

/**
 * Revokes the temporary key if a check has not, and requests the customer's
 * erasure if no check did (without waiting for it: the job runs on its own).
 * Runs even after a stop: these are the requests a stop must not skip.
 */
async function cleanUp(run: SmokeRun): Promise<string[]> {
  const lines: string[] = [];
  const plain = { signal: new AbortController().signal };
  if (run.tempKey && !run.keyRevoked) {
    try {
      const answer = await run.target.api(`/v1/keys/${run.tempKey.id}`, {
        ...plain,
        method: 'DELETE',
        key: run.target.adminKey,
      });
      if (answer.status === 200 || answer.status === 404) {
        run.keyRevoked = true;
        lines.push('temporary key revoked');
      } else {
        lines.push(
          `FAILED to revoke temporary key ${run.tempKey.id}: ${answer.status}; revoke it by hand`,
        );
      }
    } catch (err) {
      lines.push(
        `FAILED to revoke temporary key ${run.tempKey.id}: ${describeError(err)}; revoke it by hand`,
      );
    }
  } else if (run.tempKey) lines.push('temporary key revoked (by the revocation check)');
  if (run.customerUsed && !run.erasure) {
    try {
      const answer = await run.target.api('/v1/user_data', {
        ...plain,
        method: 'DELETE',
        key: run.target.adminKey,
        headers: { 'x-ephemera-metadata': `customer_id=${run.customerId}` },
      });
      const id = (answer.json as { deletion_id?: string } | undefined)?.deletion_id;
      if (answer.status === 202 && id) {
        run.erasure = { deletionId: id };
        lines.push(`erasure of ${run.customerId} requested (${id}); it completes on its own`);
      } else {
        lines.push(`FAILED to request the erasure of ${run.customerId}: ${answer.status}`);
      }
    } catch (err) {
      lines.push(`FAILED to request the erasure of ${run.customerId}: ${describeError(err)}`);
    }
  } else if (run.erasure?.job?.status === 'done') {
    lines.push(`customer ${run.customerId} erased (${run.erasure.deletionId})`);
  } else if (run.erasure) {
    lines.push(
      `erasure of ${run.customerId} requested (${run.erasure.deletionId}); it completes on its own`,
    );
  }
  return lines;
}
