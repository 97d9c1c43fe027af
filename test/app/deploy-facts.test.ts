/**
 * The deploy facts other tools read from a synthesized template: how much
 * Lambda concurrency it reserves, and the account limit that needs.
 */
import {
  concurrencyLimitNeeded,
  LAMBDA_UNRESERVED_MINIMUM,
  reservedConcurrency,
} from '../../lib/private/deploy-facts';

const fn = (reserved?: unknown) => ({
  Type: 'AWS::Lambda::Function',
  Properties: {
    Handler: 'index.handler',
    ...(reserved === undefined ? {} : { ReservedConcurrentExecutions: reserved }),
  },
});

describe('reservedConcurrency', () => {
  test('sums the reservations of every function, and nothing else', () => {
    const template = {
      Resources: {
        Gateway: fn(50),
        Admin: fn(10),
        Unreserved: fn(),
        // A string, as a hand-written template may hold it.
        Sweeper: fn('1'),
        Alias: { Type: 'AWS::Lambda::Alias', Properties: { ReservedConcurrentExecutions: 99 } },
        Queue: { Type: 'AWS::SQS::Queue' },
      },
    };
    expect(reservedConcurrency(template)).toBe(61);
    expect(concurrencyLimitNeeded(template)).toBe(61 + LAMBDA_UNRESERVED_MINIMUM);
  });

  test('a template without functions, or without resources, reserves nothing and needs no limit', () => {
    for (const template of [{}, { Resources: {} }, { Resources: { U: fn() } }]) {
      expect(reservedConcurrency(template)).toBe(0);
      expect(concurrencyLimitNeeded(template)).toBe(0);
    }
  });

  test('a reservation that is not a whole number at synth is refused, naming the function', () => {
    expect(() => reservedConcurrency({ Resources: { Fn: fn({ Ref: 'Reserved' }) } })).toThrow(
      'Fn: ReservedConcurrentExecutions is not a whole number at synth ({"Ref":"Reserved"})',
    );
    expect(() => reservedConcurrency({ Resources: { Fn: fn(2.5) } })).toThrow('Fn:');
  });

  test('Lambda keeps 100 executions unreserved', () => {
    expect(LAMBDA_UNRESERVED_MINIMUM).toBe(100);
  });
});
