/**
 * The gateway's outbound trust: the trust store in the config bucket, read
 * through a cache, or Node's public CAs alone when the deployment has no
 * config bucket. One reader serves both the upstream's fetch and the warning
 * header of every answer.
 */

import type { S3Client } from '@aws-sdk/client-s3';
import {
  PUBLIC_ONLY,
  S3TrustStore,
  TrustSource,
  TrustStoreError,
  type TrustReader,
  type TrustSettings,
} from '../shared/trust/trust-source';
import { trustWarningText } from '../shared/trust/warning';
import type { GatewayConfig } from './config';

/** A reader that may also answer from its cache without I/O (TrustSource does). */
export type GatewayTrust = TrustReader & { peek?(): TrustSettings | undefined };

/**
 * The reader for this deployment. Without `s3`, the S3 client is created on
 * the first read (S3 stays out of the cold start, as for images).
 */
export function createTrustReader(config: GatewayConfig, s3?: S3Client): GatewayTrust {
  const bucket = config.configBucketName;
  if (bucket === undefined) return PUBLIC_ONLY;
  const sourceOn = (client: S3Client) =>
    new TrustSource({
      store: new S3TrustStore({ s3: client, bucket }),
      allowInsecureTrustAll: config.allowInsecureTrustAll,
    });
  if (s3) return sourceOn(s3);
  let source: TrustSource | undefined;
  let loading: Promise<TrustSource> | undefined;
  return {
    async current() {
      if (!source) {
        loading ??= import('@aws-sdk/client-s3').then((m) => sourceOn(new m.S3Client({})));
        try {
          source = await loading;
        } catch {
          loading = undefined;
          throw new TrustStoreError('the trust store could not be read');
        }
      }
      return source.current();
    },
    peek: () => source?.peek(),
  };
}

/** The trust warning for the current mode; none when the trust cannot be read. */
export async function trustWarning(trust: GatewayTrust): Promise<string | undefined> {
  try {
    return trustWarningText((await trust.current()).mode);
  } catch {
    return undefined;
  }
}
