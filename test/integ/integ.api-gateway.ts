/**
 * Integration test: Ephemera behind its public REST API
 * (frontDoorKind api-gateway), called on its execute-api URL. See
 * docs/deploy.md, "Integration tests in a sandbox account".
 */
import { synthForRunner } from './support/runner-assembly';
import { sandboxTest } from './support/sandbox-test';

synthForRunner(sandboxTest('api-gateway').app);
