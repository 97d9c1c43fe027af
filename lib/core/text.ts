/**
 * Linear-time helpers for text that comes from outside (headers, bodies,
 * configuration). None uses a regular expression that could backtrack, so the
 * cost of a call grows with the length of its input and nothing more.
 */

const SPACE = 0x20;
const TAB = 0x09;

const isOws = (code: number): boolean => code === SPACE || code === TAB;

/** Removes spaces and tabs (HTTP's optional whitespace) from both ends. */
export function trimOws(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && isOws(s.charCodeAt(start))) start++;
  while (end > start && isOws(s.charCodeAt(end - 1))) end--;
  return start === 0 && end === s.length ? s : s.slice(start, end);
}

/** Removes every trailing occurrence of one character (`trimEnd(url, '/')`). */
export function trimEnd(s: string, ch: string): string {
  const code = ch.charCodeAt(0);
  let end = s.length;
  while (end > 0 && s.charCodeAt(end - 1) === code) end--;
  return end === s.length ? s : s.slice(0, end);
}

/**
 * Whether `s` looks like an email address: one `@`, a non-empty local part,
 * and a domain of at least two non-empty dot-separated labels, with no
 * whitespace anywhere. (Deliverability is the mail system's business.)
 */
export function isEmailAddress(s: unknown): s is string {
  if (typeof s !== 'string' || s.length > 254) return false;
  const at = s.indexOf('@');
  if (at <= 0 || at !== s.lastIndexOf('@')) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f) return false;
  }
  const labels = s.slice(at + 1).split('.');
  return labels.length >= 2 && labels.every((l) => l.length > 0);
}
