/**
 * The integration tests' apps: one Ephemera stack of one front-door kind, with
 * the project's configuration (cdk.json) and a few sandbox settings, and an
 * assertion stack that creates API keys and calls the deployed API.
 */

import { App, Duration, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as cxapi from 'aws-cdk-lib/cx-api';
import { ExpectedResult, IntegTest, Match, type IApiCall } from '@aws-cdk/integ-tests-alpha';
import { cdkJsonContext, REPORT_IN_APP } from '../../../lib/app';
import { EphemeraStack } from '../../../lib/ephemera-stack';
import { KeyIssuer } from './key-issuer';
import { albContext } from './sandbox-env';

export type FrontDoorKind = 'alb' | 'api-gateway';

/** The chat model the test calls: the sandbox account needs Bedrock access to it. */
export const CHAT_MODEL = 'amazon.nova-lite-v1:0';

/** The customer whose request is erased. */
export const CUSTOMER_ID = 'integ-sandbox-customer';

/** The settings every sandbox deployment gets on top of cdk.json's. */
export const SANDBOX_CONTEXT: Record<string, unknown> = {
  // Everything goes with the stack (KMS keys: scheduled for deletion).
  removalPolicy: 'destroy',
  // An erasure job starts a tenth after the gateway timeout: 66 s here, not 5.5 min.
  gatewayTimeoutSeconds: 60,
  // Deploys under any Lambda concurrency limit (sandbox accounts often have 10).
  reserveConcurrency: false,
};

export interface SandboxTest {
  readonly app: App;
  readonly stack: EphemeraStack;
  readonly assertionStack: Stack;
  readonly integ: IntegTest;
  /** The API's base URL, ending in `/` (`<base>v1/models`). */
  readonly baseUrl: string;
}

/** Builds the integration test of one front-door kind. */
export function sandboxTest(kind: FrontDoorKind): SandboxTest {
  const name = kind === 'alb' ? 'EphemeraIntegAlb' : 'EphemeraIntegApiGateway';
  const context = {
    ...SANDBOX_CONTEXT,
    frontDoorKind: kind,
    ...(kind === 'alb' ? albContext() : {}),
  };
  const app = new App({
    // cdk.json's feature flags and settings after the runner's context (its
    // recommended flags), so that the stack deploys as `cdk deploy` deploys it.
    postCliContext: {
      ...cdkJsonContext(),
      ...context,
      [REPORT_IN_APP]: false,
      // No creation stack traces (this machine's paths) in the metadata.
      [cxapi.DISABLE_CREATION_STACK_TRACES]: true,
    },
  });
  // No env: the templates are region-agnostic; the runner picks the region.
  const stack = new EphemeraStack(app, name, {
    description: `Ephemera integration test (frontDoorKind ${kind}); deleted when the test ends`,
  });
  sandboxTeardown(stack);

  const assertionStack = new Stack(app, `${name}Assertions`);
  const integ = new IntegTest(app, `${name}Test`, {
    testCases: [stack],
    assertionStack,
    // The snapshot holds placeholders, not something to deploy first.
    stackUpdateWorkflow: false,
    diffAssets: false,
  });
  const baseUrl =
    kind === 'alb'
      ? `https://${stack.config.domainName}/`
      : (stack.streamingFrontDoor?.url ?? missing('streamingFrontDoor'));
  callTheApi(integ, stack, assertionStack, baseUrl);
  return { app, stack, assertionStack, integ, baseUrl };
}

function missing(what: string): never {
  throw new Error(`the stack has no ${what}`);
}

/**
 * What a sandbox stack changes so that `cdk destroy` removes all of it:
 * deletion protection off (tables, load balancer). (Two stacks never collide:
 * every account-wide name, the key aliases included, derives from the stack
 * name.)
 */
export function sandboxTeardown(stack: EphemeraStack): void {
  for (const c of stack.node.findAll()) {
    if (c instanceof dynamodb.CfnTable) c.deletionProtectionEnabled = false;
  }
  stack.frontDoor?.loadBalancer.setAttribute('deletion_protection.enabled', 'false');
}

/**
 * The assertions: two keys (inference, admin) from the key issuer; the model
 * list; a chat completion tagged with a customer; a 401 without a key; an
 * erasure of that customer and its signed receipt, polled until done.
 */
function callTheApi(
  integ: IntegTest,
  stack: EphemeraStack,
  assertionStack: Stack,
  baseUrl: string,
): void {
  const issuer = new KeyIssuer(assertionStack, 'KeyIssuer', {
    keyTable: stack.store.keyTable,
    metadataKey: stack.keys.metadataKey,
    hmacKey: stack.keys.hmacKey,
  });
  const issue = (scope: 'inference' | 'admin'): IApiCall =>
    integ.assertions.invokeFunction({
      functionName: issuer.function.functionName,
      payload: JSON.stringify({ name: `integ-${scope}`, scopes: [scope] }),
    });
  const bearer = (key: IApiCall) => `Bearer ${key.getAttString('Payload.key')}`;
  const inferenceKey = issue('inference');
  const adminKey = issue('admin');

  const models = integ.assertions.httpApiCall(`${baseUrl}v1/models`, {
    headers: { Authorization: bearer(inferenceKey) },
  });
  models.expect(
    ExpectedResult.objectLike({
      status: 200,
      body: { object: 'list', data: Match.arrayWith([Match.objectLike({ id: CHAT_MODEL })]) },
    }),
  );

  const chat = integ.assertions.httpApiCall(`${baseUrl}v1/chat/completions`, {
    method: 'POST',
    headers: {
      Authorization: bearer(inferenceKey),
      'Content-Type': 'application/json',
      'X-Ephemera-Metadata': `customer_id=${CUSTOMER_ID}`,
    },
    body: JSON.stringify({
      model: CHAT_MODEL,
      messages: [{ role: 'user', content: 'Reply with the single word: pong' }],
      max_tokens: 16,
    }),
  });
  chat.expect(
    ExpectedResult.objectLike({
      status: 200,
      body: {
        object: 'chat.completion',
        model: CHAT_MODEL,
        choices: Match.arrayWith([
          Match.objectLike({ message: Match.objectLike({ role: 'assistant' }) }),
        ]),
      },
    }),
  );

  const unauthenticated = integ.assertions.httpApiCall(`${baseUrl}v1/models`);
  unauthenticated.expect(
    ExpectedResult.objectLike({
      status: 401,
      body: { error: Match.objectLike({ type: 'invalid_request_error', code: 'invalid_api_key' }) },
    }),
  );

  // Its answer is read through an attribute (a flattened response), so the
  // receipt's assertion below is what checks it: no deletion id, no receipt.
  const erase = integ.assertions.httpApiCall(`${baseUrl}v1/user_data`, {
    method: 'DELETE',
    headers: {
      Authorization: bearer(adminKey),
      'X-Ephemera-Metadata': `customer_id=${CUSTOMER_ID}`,
    },
  });
  const deletionId = erase.getAttString('body.deletion_id');

  const receipt = integ.assertions.httpApiCall(`${baseUrl}v1/user_data/deletions/${deletionId}`, {
    headers: { Authorization: bearer(adminKey) },
  });
  receipt
    .expect(
      ExpectedResult.objectLike({
        status: 200,
        body: {
          deletion_id: deletionId,
          status: 'done',
          counts: { records_erased: 1, images_erased: 0 },
          receipt: Match.objectLike({
            deletion_id: deletionId,
            records_erased: 1,
            images_erased: 0,
            excludes: Match.arrayWith([
              Match.objectLike({ store: 'usage-table-point-in-time-recovery' }),
            ]),
            algorithm: Match.stringLikeRegexp('.+'),
            signature: Match.stringLikeRegexp('.+'),
          }),
        },
      }),
    )
    // The job starts 66 s after the request, then erases and signs.
    .waitForAssertions({ totalTimeout: Duration.minutes(10), interval: Duration.seconds(20) });

  models.next(chat).next(unauthenticated).next(erase).next(receipt);
}
