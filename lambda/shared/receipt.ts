/**
 * Erasure receipts (promise P7): a statement of what one deletion job erased,
 * signed with the stack's KMS signing key (ECC_NIST_P256, ECDSA_SHA_256), so a
 * data subject or an auditor can check it offline with the key's public half
 * (`kms:GetPublicKey`) and `openssl`.
 *
 * The signature covers the receipt's other fields exactly as the API returns
 * them: the UTF-8 bytes of the JSON object without `signature`, keys in the
 * order below, no whitespace (what `jq -cj 'del(.signature)'` prints). Every
 * value is an ASCII string, an integer or a list of objects of those, keys in
 * a fixed order, so any JSON tool that keeps key order reproduces those bytes. The signature is DER-encoded ECDSA, base64.
 */

import { createVerify } from 'node:crypto';
import { SignCommand, type KMSClient } from '@aws-sdk/client-kms';

export const RECEIPT_ALGORITHM = 'ECDSA_SHA_256';

/** One store outside the erasure's reach, as a receipt states it. */
export interface ReceiptExclude {
  readonly store: string;
  readonly retention_days: number;
}

/** What a receipt states, in the order it is serialized and signed. */
export interface ReceiptFields {
  readonly deletion_id: string;
  readonly customer_hash: string;
  readonly requested_at: string;
  readonly completed_at: string;
  readonly records_erased: number;
  readonly images_erased: number;
  /**
   * Every store that can still hold anything about the customer after the
   * job, and for how many days (the usage table's point-in-time recovery;
   * access logs where they are on). Never empty while such a store exists.
   */
  readonly excludes: readonly ReceiptExclude[];
  /** ARN of the KMS key whose public half verifies the signature. */
  readonly signing_key: string;
  readonly algorithm: typeof RECEIPT_ALGORITHM;
}

export interface Receipt extends ReceiptFields {
  /** base64 of the DER-encoded ECDSA signature over {@link receiptPayload}. */
  readonly signature: string;
}

const ORDER: ReadonlyArray<keyof ReceiptFields> = [
  'deletion_id',
  'customer_hash',
  'requested_at',
  'completed_at',
  'records_erased',
  'images_erased',
  'excludes',
  'signing_key',
  'algorithm',
];

/** The exact bytes a receipt's signature covers. */
export function receiptPayload(receipt: ReceiptFields): Buffer {
  const ordered: Record<string, unknown> = {};
  for (const key of ORDER) ordered[key] = receipt[key];
  // Objects inside, too, in one order whatever order they were built in.
  ordered.excludes = (receipt.excludes ?? []).map((e) => ({
    store: e.store,
    retention_days: e.retention_days,
  }));
  return Buffer.from(JSON.stringify(ordered), 'utf8');
}

/** Signs a receipt with KMS. Throws an error with a fixed message when KMS fails. */
export async function signReceipt(kms: KMSClient, fields: ReceiptFields): Promise<Receipt> {
  let signature: Uint8Array | undefined;
  try {
    const out = await kms.send(
      new SignCommand({
        KeyId: fields.signing_key,
        Message: receiptPayload(fields),
        MessageType: 'RAW',
        SigningAlgorithm: RECEIPT_ALGORITHM,
      }),
    );
    signature = out.Signature;
  } catch {
    throw new Error('Receipt signing failed: KMS Sign error');
  }
  if (!signature || signature.length === 0) throw new Error('Receipt signing failed: no signature');
  const ordered = JSON.parse(receiptPayload(fields).toString('utf8')) as ReceiptFields;
  return { ...ordered, signature: Buffer.from(signature).toString('base64') };
}

/** The receipt as stored and returned: its fields in order, then the signature. */
export function receiptJson(receipt: Receipt): string {
  const { signature, ...fields } = receipt;
  const payload = receiptPayload(fields).toString('utf8');
  return `${payload.slice(0, -1)},"signature":${JSON.stringify(signature)}}`;
}

/**
 * Checks a receipt against a public key (DER SubjectPublicKeyInfo, as
 * `kms:GetPublicKey` returns it). False for any change to any field.
 */
export function verifyReceipt(receipt: Receipt, publicKeyDer: Uint8Array): boolean {
  const { signature, ...fields } = receipt;
  try {
    return createVerify('sha256')
      .update(receiptPayload(fields))
      .verify(
        { key: Buffer.from(publicKeyDer), format: 'der', type: 'spki' },
        Buffer.from(signature, 'base64'),
      );
  } catch {
    return false;
  }
}
