/**
 * The README's data-residency map, rendered from the table the synth check
 * uses (`bedrock-regions.ts`), so the two cannot drift apart.
 * `npx tsx bin/config-docs.ts` writes it between the markers; a test checks
 * that the README holds exactly this.
 */

import { geographicReach } from './bedrock-regions';
import { withMarkedSection } from './config-table';

export const RESIDENCY_MAP_START = '<!-- residency-map:start -->';
export const RESIDENCY_MAP_END = '<!-- residency-map:end -->';

const either = (regions: readonly string[]) =>
  regions.length === 1
    ? regions[0]
    : `${regions.slice(0, -1).join(', ')} or ${regions[regions.length - 1]}`;

/** One Markdown list item per kind of Bedrock model id. */
export function renderResidencyMap(): string {
  const items = [
    "no prefix (`amazon.nova-lite-v1:0`): the stack's region, or the region of a `foundation-model` ARN",
    ...geographicReach().map(
      ({ prefix, shared, sourceOnly }) =>
        `\`${prefix}.\`: ${shared.join(', ')}` +
        (sourceOnly.length > 0
          ? `; and the stack's own region when it is ${either(sourceOnly)}`
          : ''),
    ),
    '`global.`: any commercial region, so it is refused while `allowedRegions` is set',
    'an application inference profile, or another Bedrock ARN: cannot be known at synth, so it is refused while `allowedRegions` is set',
  ];
  return items.map((i) => `- ${i}`).join('\n');
}

/** `doc` with the rendered map between its markers; undefined when a marker is missing. */
export function withResidencyMap(doc: string): string | undefined {
  return withMarkedSection(doc, RESIDENCY_MAP_START, RESIDENCY_MAP_END, renderResidencyMap());
}
