/**
 * HANDLER_BUNDLES is the one list of handler bundles: `npm run build`
 * prebuilds exactly it, and every bundle a construct asks for must be in it
 * (handlerCode refuses any other), so the installed package never lacks one.
 */
import * as fs from 'fs';
import * as path from 'path';
import { EphemeraStack } from '../../lib/ephemera-stack';
import * as handlerBundle from '../../lib/handler-bundle';
import {
  bundleName,
  HANDLER_BUNDLES,
  handlerCode,
  LAMBDA_SOURCE_DIR,
  type HandlerBundle,
} from '../../lib/handler-bundle';
import { testApp } from '../support/ephemera-app';

/** Configurations that, together, create every function the constructs have. */
const CONFIGURATIONS: Record<string, Record<string, string>> = {
  defaults: {},
  'openai-compatible upstream, receipt webhook': {
    upstream: 'openai-compatible',
    upstreamBaseUrl: 'https://llm.internal.example',
    receiptWebhookUrl: 'https://receipts.example.com/ephemera',
  },
};

/** Every bundle the stack asks handlerCode for, in each configuration. */
function requestedBundles(): HandlerBundle[] {
  const spy = jest.spyOn(handlerBundle, 'handlerCode');
  try {
    for (const context of Object.values(CONFIGURATIONS)) {
      new EphemeraStack(testApp({ context }), 'Ephemera', { env: { region: 'eu-west-1' } });
    }
    return spy.mock.calls.map(([bundle]) => bundle);
  } finally {
    spy.mockRestore();
  }
}

test('every listed bundle has a unique name and handler sources', () => {
  const names = HANDLER_BUNDLES.map(bundleName);
  expect(new Set(names).size).toBe(names.length);
  for (const bundle of HANDLER_BUNDLES) {
    expect(fs.existsSync(path.join(LAMBDA_SOURCE_DIR, bundle.handler, 'index.ts'))).toBe(true);
  }
});

test('the constructs ask for listed bundles only, and for every listed bundle', () => {
  const requested = requestedBundles();
  for (const bundle of requested) {
    expect(bundle).toEqual(HANDLER_BUNDLES.find((l) => bundleName(l) === bundleName(bundle)));
  }
  expect([...new Set(requested.map(bundleName))].sort()).toEqual(
    HANDLER_BUNDLES.map(bundleName).sort(),
  );
});

test('handlerCode refuses a bundle that is not listed, or listed with other constants', () => {
  expect(() => handlerCode({ handler: 'image-sweeper', name: 'image-sweeper-fast' })).toThrow(
    "Unknown handler bundle 'image-sweeper-fast': add it to HANDLER_BUNDLES",
  );
  expect(() =>
    handlerCode({
      handler: 'gateway',
      name: 'gateway-bedrock',
      define: { 'process.env.EPHEMERA_UPSTREAM_KIND': '"openai-compatible"' },
    }),
  ).toThrow("Handler bundle 'gateway-bedrock' is listed in HANDLER_BUNDLES with another handler");
});
