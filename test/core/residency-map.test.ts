import * as fs from 'fs';
import * as path from 'path';
import { bedrockReach, geographicReach } from '../../lib/core/bedrock-regions';
import {
  RESIDENCY_MAP_END,
  RESIDENCY_MAP_START,
  renderResidencyMap,
  withResidencyMap,
} from '../../lib/core/residency-map';

const README = fs.readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');

describe("the README's data-residency map", () => {
  test('is the map rendered from the table the synth check uses', () => {
    expect(README).toContain(RESIDENCY_MAP_START);
    // If this fails: run `npx tsx bin/config-docs.ts` to write it.
    expect(withResidencyMap(README)).toBe(README);
  });

  test('names, for each prefix, every region bedrockReach says a prompt can reach', () => {
    const map = renderResidencyMap();
    for (const { prefix, sourceOnly } of geographicReach()) {
      const line = map.split('\n').find((l) => l.startsWith(`- \`${prefix}.\`:`));
      expect(line).toBeDefined();
      // From an unknown caller, the reach is the whole geography: shared and source-only.
      const reach = bedrockReach(`${prefix}.amazon.nova-lite-v1:0`);
      expect(reach.kind).toBe('geographic');
      if (reach.kind !== 'geographic') continue;
      for (const region of reach.destinations) expect(line).toContain(region);
      for (const region of sourceOnly)
        expect(line).toMatch(new RegExp(`own region when .*${region}`));
    }
    expect(map).toContain('`global.`: any commercial region');
    expect(map).toContain('application inference profile');
  });

  test('the generator rewrites only what lies between the markers', () => {
    const doc = `# T\n\n${RESIDENCY_MAP_START}\n\n- old\n\n${RESIDENCY_MAP_END}\n\nafter\n`;
    expect(withResidencyMap(doc)).toBe(
      `# T\n\n${RESIDENCY_MAP_START}\n\n${renderResidencyMap()}\n\n${RESIDENCY_MAP_END}\n\nafter\n`,
    );
    expect(withResidencyMap('# no markers\n')).toBeUndefined();
  });
});
