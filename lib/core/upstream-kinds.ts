/**
 * The kinds of model upstream a gateway can call, one row each with what the
 * kind needs. Every place that depends on the kind is typed by
 * {@link UpstreamKind}, through a `Record<UpstreamKind, ...>` or a `switch`
 * that ends in {@link unknownUpstreamKind}: adding a row here makes the
 * compiler point to each place a new provider must go.
 */

/** What an upstream kind needs from the deployment. */
export interface UpstreamKindSpec {
  /** What the kind is, for messages and docs. */
  readonly description: string;
  /** Whether the upstream is reached at a configured `https://` base URL (`upstreamBaseUrl`). */
  readonly baseUrl: 'required' | 'not-allowed';
  /** Whether a Secrets Manager secret may hold its bearer token (`upstreamSecretArn`). */
  readonly secret: 'optional' | 'not-allowed';
  /** Whether the gateway calls it with its own IAM role (Bedrock's `InvokeModel` permissions). */
  readonly iam: boolean;
}

export const UPSTREAM_KINDS = {
  bedrock: {
    description: 'Amazon Bedrock in the stack region, called with the gateway role',
    baseUrl: 'not-allowed',
    secret: 'not-allowed',
    iam: true,
  },
  'openai-compatible': {
    description: 'an OpenAI-compatible HTTPS server (vLLM, an inference provider, ...)',
    baseUrl: 'required',
    secret: 'optional',
    iam: false,
  },
} as const satisfies Readonly<Record<string, UpstreamKindSpec>>;

/** An upstream provider kind: a key of {@link UPSTREAM_KINDS}. */
export type UpstreamKind = keyof typeof UPSTREAM_KINDS;

/** Every upstream kind, in table order. */
export const UPSTREAM_KIND_NAMES = Object.keys(UPSTREAM_KINDS) as readonly UpstreamKind[];

/** Whether `value` names an upstream kind. */
export function isUpstreamKind(value: unknown): value is UpstreamKind {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(UPSTREAM_KINDS, value);
}

/**
 * The end of an exhaustive `switch` over upstream kinds: it compiles only
 * when every kind has its case, and throws if a value no kind names gets
 * through at run time.
 */
export function unknownUpstreamKind(kind: never): never {
  throw new Error(`Unknown upstream kind: ${String(kind)}`);
}
