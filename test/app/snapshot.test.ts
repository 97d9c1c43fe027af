/**
 * One snapshot per front-door kind: the default stack (the streaming front
 * door, API Gateway, public), the load balancer (`frontDoorKind` `alb`), and
 * the streaming front door public and private. Asset hashes (64 hex
 * characters) are blanked by test/support/asset-hash-serializer.ts, so the
 * snapshot changes only when the template does.
 */
import { defaultStack } from '../support/ephemera-app';

test('the default Ephemera stack matches its snapshot', () => {
  const { stack, template } = defaultStack();
  expect(stack.config.frontDoorKind).toBe('api-gateway');
  expect(template.toJSON()).toMatchSnapshot();
});

test('the stack with the load balancer (frontDoorKind alb) matches its snapshot', () => {
  const { template } = defaultStack({ context: { frontDoorKind: 'alb' } });
  expect(template.toJSON()).toMatchSnapshot();
});

test('the stack with the streaming front door matches its snapshot', () => {
  const { template } = defaultStack({
    context: {
      frontDoorKind: 'api-gateway',
      frontDoor: 'both',
      apiVpcEndpointIds: ['vpce-0123456789abcdef0'],
    },
  });
  expect(template.toJSON()).toMatchSnapshot();
});
