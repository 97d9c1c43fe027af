/**
 * One snapshot per front-door kind: the default stack (the streaming front
 * door, API Gateway, public), the load balancer (`frontDoorKind` `alb`), and
 * the streaming front door public and private. Asset hashes (64 hex
 * characters) are blanked by test/support/asset-hash-serializer.ts, so the
 * snapshot changes only when the template does.
 */
import { defaultStackTemplate } from '../support/synths';

// Each stack is defaultStack({ context }), synthesized once per run and shared
// with the other files that read its template (test/support/synths.ts).

test('the default Ephemera stack matches its snapshot', () => {
  const { frontDoorKind, template } = defaultStackTemplate();
  expect(frontDoorKind).toBe('api-gateway');
  expect(template).toMatchSnapshot();
});

test('the stack with the load balancer (frontDoorKind alb) matches its snapshot', () => {
  const { template } = defaultStackTemplate({ frontDoorKind: 'alb' });
  expect(template).toMatchSnapshot();
});

test('the stack with the streaming front door matches its snapshot', () => {
  const { template } = defaultStackTemplate({
    frontDoorKind: 'api-gateway',
    frontDoor: 'both',
    apiVpcEndpointIds: ['vpce-0123456789abcdef0'],
  });
  expect(template).toMatchSnapshot();
});
