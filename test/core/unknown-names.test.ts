/**
 * The closest known name for one nobody reads (lib/core/unknown-names.ts):
 * the same word in other case first, else the nearest by edit distance when
 * it is near enough to be a typo.
 */
import { SETTING_KEYS } from '../../lib/core/config-schema';
import { closestName, editDistance, unknownNameMessage } from '../../lib/core/unknown-names';

describe('editDistance', () => {
  test.each([
    ['', '', 0],
    ['abc', '', 3],
    ['', 'abc', 3],
    ['region', 'region', 0],
    ['regoin', 'region', 1], // two neighbours swapped count once
    ['maxAz', 'maxAzs', 1],
    ['fips2', 'fips', 1],
    ['kitten', 'sitting', 3],
  ])('%j → %j: %i', (a, b, d) => {
    expect(editDistance(a, b)).toBe(d);
    expect(editDistance(b, a)).toBe(d);
  });
});

describe('closestName among the context keys', () => {
  test.each([
    ['frontdoor', 'frontDoor'], // case alone
    ['FRONTDOORKIND', 'frontDoorKind'],
    ['front-door', 'frontDoor'],
    ['frontDoorKnd', 'frontDoorKind'],
    ['regoin', 'region'],
    ['stackname', 'stackName'],
    ['maxAz', 'maxAzs'],
    ['alarmEmail', 'alarmEmails'],
    ['allowedCidr', 'allowedCidrs'],
    ['acessLogs', 'accessLogs'],
    // One begins the other: an EphemeraConfig name for its context key, or the reverse.
    ['imageTtl', 'imageTtlMinutes'],
    ['gatewayTimeout', 'gatewayTimeoutSeconds'],
    ['metadataRetentionDaysMax', 'metadataRetentionDays'],
  ])('%s → %s', (name, closest) => {
    expect(closestName(name, SETTING_KEYS)).toBe(closest);
  });

  test.each(['unknownKey', 'tls', 'x', 'cdk', 'vpc', 'allow', 'somethingElseEntirely'])(
    '%s: none near enough',
    (name) => {
      expect(closestName(name, SETTING_KEYS)).toBeUndefined();
    },
  );

  test('the same word in other case wins over a nearer spelling; ties go to the first', () => {
    expect(closestName('ab', ['aB', 'ab2'])).toBe('aB');
    expect(closestName('abcdex', ['abcdez', 'abcdey'])).toBe('abcdez');
  });
});

test('the message names the closest, or only the name and where to look', () => {
  expect(
    unknownNameMessage('context key', 'frontdoor', SETTING_KEYS, 'docs/configuration.md'),
  ).toBe("Unknown context key 'frontdoor': did you mean 'frontDoor'? (see docs/configuration.md)");
  expect(
    unknownNameMessage('context key', 'unknownKey', SETTING_KEYS, 'docs/configuration.md'),
  ).toBe("Unknown context key 'unknownKey' (see docs/configuration.md)");
});
