/**
 * The report of `npm run preflight`: one line per check, then a count.
 *
 *   PASS bootstrap: version 30 (/cdk-bootstrap/hnb659fds/version); the template needs 6 or later
 *   FAIL lambda-concurrency: ... | fix: ...
 */
import type { CheckResult } from './checks';

/** One check as the user sees it: status, name, detail, and for a FAIL or WARN the fix. */
export function formatLine(r: CheckResult): string {
  const fix = r.fix !== undefined && (r.status === 'FAIL' || r.status === 'WARN');
  return `${r.status} ${r.name}: ${r.detail}${fix ? ` | fix: ${r.fix}` : ''}`;
}

/** The closing line: how many of each. */
export function formatSummary(results: readonly CheckResult[]): string {
  const count = (s: CheckResult['status']) => results.filter((r) => r.status === s).length;
  const failed = count('FAIL');
  const warnings = count('WARN');
  const line = `${count('PASS')} passed, ${failed} failed, ${warnings} ${warnings === 1 ? 'warning' : 'warnings'}, ${count('SKIP')} skipped`;
  return failed > 0
    ? `${line}: fix the FAIL lines before cdk deploy`
    : `${line}: ready for cdk deploy`;
}
