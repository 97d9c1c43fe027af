/**
 * Integration test: Ephemera behind its public load balancer
 * (frontDoorKind alb), called over HTTPS on a name in the sandbox account's
 * hosted zone. See docs/deploy.md, "Integration tests in a sandbox account".
 */
import { synthForRunner } from './support/runner-assembly';
import { sandboxTest } from './support/sandbox-test';

synthForRunner(sandboxTest('alb').app);
