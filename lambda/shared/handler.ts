/**
 * The one skeleton of a handler's Lambda entry point (every
 * `lambda/<handler>/index.ts`), in three steps run once, at module load
 * (cold start):
 *
 * 1. the configuration, parsed by the handler's own `parseConfig` from
 *    `process.env`: a bad environment fails the init with one error that names
 *    the variables and never repeats a value;
 * 2. the SDK clients, created from the configuration, kept for every
 *    invocation;
 * 3. the handler, built from both, and wrapped so that an error escaping it
 *    reaches the Lambda runtime (which logs it, and for an SQS source hands
 *    the batch back) as {@link HandlerFailed}: a fixed message naming the
 *    handler and the error's AWS name only. An error's own message or stack
 *    may quote request content, so it is never passed on to a log.
 *
 * The application logic stays in `create…` functions that take their
 * configuration and clients as arguments (tests and local mode call them
 * directly); an entry point only names its parts.
 */

import { awsErrorName } from '../../lib/core/keyed-hash';

/** The environment a configuration is read from. */
export type HandlerEnv = Readonly<Record<string, string | undefined>>;

/** An invocation handler: whatever the event source calls. */
export type AsyncHandler = (...args: never[]) => Promise<unknown>;

export interface HandlerParts<C, Clients, H extends AsyncHandler> {
  /** The handler's name, for the failure message (`gateway`, `deletion worker`, ...). */
  readonly name: string;
  /** The handler's own configuration parser; throws one error listing every problem. */
  readonly parseConfig: (env: HandlerEnv) => C;
  /** The SDK clients (and anything else built once) the handler needs. */
  readonly clients: (config: C) => Clients;
  /** The handler, from the configuration and the clients. */
  readonly create: (config: C, clients: Clients) => H;
}

export interface LambdaEntry<C, Clients, H extends AsyncHandler> {
  readonly config: C;
  readonly clients: Clients;
  /** The handler, with failures reported as {@link HandlerFailed}. */
  readonly handler: H;
}

/** What the Lambda runtime sees of a failed invocation: the handler and the error's name. */
export class HandlerFailed extends Error {
  override readonly name = 'HandlerFailed';
  constructor(
    readonly handlerName: string,
    readonly errorName: string,
  ) {
    super(`The ${handlerName} failed (${errorName})`);
  }
}

/** `handler`, with any failure replaced by a {@link HandlerFailed} that holds nothing of the error but its name. */
export function reportingOnlyErrorNames<H extends AsyncHandler>(name: string, handler: H): H {
  const wrapped = async (...args: Parameters<H>) => {
    try {
      return await handler(...args);
    } catch (err) {
      throw new HandlerFailed(name, awsErrorName(err) ?? 'Error');
    }
  };
  return wrapped as H;
}

/**
 * The entry point's configuration, clients and handler, built once: call it
 * at module scope. `env` is `process.env` in Lambda.
 */
export function lambdaEntry<C, Clients, H extends AsyncHandler>(
  parts: HandlerParts<C, Clients, H>,
  env: HandlerEnv = process.env,
): LambdaEntry<C, Clients, H> {
  const config = parts.parseConfig(env);
  const clients = parts.clients(config);
  const handler = reportingOnlyErrorNames(parts.name, parts.create(config, clients));
  return { config, clients, handler };
}
