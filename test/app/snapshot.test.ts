/**
 * One snapshot of the default stack. Asset hashes (64 hex characters) are
 * blanked by test/support/asset-hash-serializer.ts, so the snapshot changes
 * only when the template does.
 */
import { defaultStack } from '../support/ephemera-app';

test('the default Ephemera stack matches its snapshot', () => {
  const { template } = defaultStack();
  expect(template.toJSON()).toMatchSnapshot();
});
