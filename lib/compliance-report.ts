/**
 * The verdict of a synth's rule packs, as read from CDK's validation report
 * (lib/compliance.ts reads it, lib/compliance-summary.ts prints it).
 */

/** One finding left unacknowledged in the validation report. */
export interface Finding {
  readonly plugin: string;
  readonly rule: string;
  readonly paths: string[];
}

/** One acknowledgement recorded with `Validations.of(construct).acknowledge`. */
export interface Acknowledgement {
  readonly rule: string;
  readonly reason: string;
  /** Path of the construct the acknowledgement sits on. */
  readonly path: string;
}

export interface ComplianceSummary {
  readonly plugins: Array<{ name: string; success: boolean; violations: number; error?: string }>;
  /** Unacknowledged findings, including a plugin that failed to run. */
  readonly findings: Finding[];
  readonly acknowledgements: Acknowledgement[];
}
