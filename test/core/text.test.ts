import fc from 'fast-check';
import { isEmailAddress, trimEnd, trimOws } from '../../lib/core/text';

describe('trimOws', () => {
  test('removes exactly the spaces and tabs at both ends', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        expect(trimOws(s)).toBe(s.replace(/^[ \t]*/, '').replace(/[ \t]*$/, ''));
      }),
    );
  });
});

describe('trimEnd', () => {
  test('removes every trailing occurrence of the character', () => {
    expect(trimEnd('https://x/v1///', '/')).toBe('https://x/v1');
    expect(trimEnd('///', '/')).toBe('');
    expect(trimEnd('abc', '/')).toBe('abc');
  });
});

describe('isEmailAddress', () => {
  test.each([
    ['ops@example.com', true],
    ['first.last+tag@sub.example.co', true],
    ['no-at.example.com', false],
    ['two@@example.com', false],
    ['a@b@example.com', false],
    ['space in@example.com', false],
    ['user@localhost', false],
    ['user@example.', false],
    ['@example.com', false],
  ])('%s → %s', (s, ok) => {
    expect(isEmailAddress(s)).toBe(ok);
  });
});
