/**
 * Where a Bedrock model id can send a prompt (data residency).
 *
 * A plain foundation-model id (`amazon.nova-lite-v1:0`) runs in the region of
 * the caller. An id with a geographic prefix (`eu.anthropic...`) is a
 * system-defined cross-region inference profile: Bedrock may route each
 * request to any region of that geography. `global.` profiles may route to any
 * commercial region, and that set grows. An application inference profile
 * (`...:application-inference-profile/<id>`) can wrap any of those, so where
 * it routes cannot be read from its ARN.
 *
 * The destination sets below are supersets taken from AWS's model pages (late
 * 2026): a geography's shared destinations, plus the calling region itself for
 * callers that are a destination only for their own requests (London and
 * Zurich for `eu.`, the Canadian regions for `us.`, ...). A model may use fewer
 * regions; refusing on the superset can only refuse too much, never too little.
 * The IAM statements the gateway gets name these regions and no others.
 */

/** Asia Pacific regions that can call `apac.` profiles (all of them are destinations too). */
const APAC_REGIONS = [
  'ap-east-2',
  'ap-northeast-1',
  'ap-northeast-2',
  'ap-northeast-3',
  'ap-south-1',
  'ap-south-2',
  'ap-southeast-1',
  'ap-southeast-2',
  'ap-southeast-3',
  'ap-southeast-4',
  'ap-southeast-5',
  'ap-southeast-7',
];

/** Destinations shared by every source region of a geography. */
const GEOGRAPHIES: Readonly<Record<string, { sources: string[]; shared: string[] }>> = {
  us: {
    sources: ['us-east-1', 'us-east-2', 'us-west-1', 'us-west-2', 'ca-central-1', 'ca-west-1'],
    shared: ['us-east-1', 'us-east-2', 'us-west-2'],
  },
  'us-gov': {
    sources: ['us-gov-east-1', 'us-gov-west-1'],
    shared: ['us-gov-east-1', 'us-gov-west-1'],
  },
  eu: {
    sources: [
      'eu-central-1',
      'eu-central-2',
      'eu-north-1',
      'eu-south-1',
      'eu-south-2',
      'eu-west-1',
      'eu-west-2',
      'eu-west-3',
      'il-central-1',
    ],
    shared: ['eu-central-1', 'eu-north-1', 'eu-south-1', 'eu-south-2', 'eu-west-1', 'eu-west-3'],
  },
  apac: {
    sources: APAC_REGIONS,
    shared: [...APAC_REGIONS, 'me-central-1'],
  },
  jp: {
    sources: ['ap-northeast-1', 'ap-northeast-3'],
    shared: ['ap-northeast-1', 'ap-northeast-3'],
  },
  au: {
    sources: ['ap-southeast-2', 'ap-southeast-4', 'ap-southeast-6'],
    shared: ['ap-southeast-2', 'ap-southeast-4'],
  },
  ca: { sources: ['ca-central-1', 'ca-west-1'], shared: ['ca-central-1', 'ca-west-1'] },
  in: { sources: ['ap-south-1', 'ap-south-2'], shared: ['ap-south-1', 'ap-south-2'] },
};

/**
 * Each geographic prefix with where it can send a prompt: `shared` from every
 * source region, and `sourceOnly` regions that are a destination only for their
 * own requests. For the documentation, which is rendered from this.
 */
export function geographicReach(): Array<{
  prefix: string;
  shared: readonly string[];
  sourceOnly: readonly string[];
}> {
  return Object.entries(GEOGRAPHIES).map(([prefix, g]) => ({
    prefix,
    shared: g.shared,
    sourceOnly: g.sources.filter((r) => !g.shared.includes(r)),
  }));
}

/** Where one configured Bedrock model id can run. */
export type BedrockReach =
  /** A foundation model: in `region` only (the caller's, or the one in its ARN). */
  | { readonly kind: 'in-region'; readonly modelId: string; readonly region?: string }
  /** A geographic cross-region profile. */
  | {
      readonly kind: 'geographic';
      readonly profileId: string;
      readonly modelId: string;
      readonly geography: string;
      /** The source region, when known (the caller's, or the one in its ARN). */
      readonly region?: string;
      /** Every region the profile can route to from that source (all sources when unknown). */
      readonly destinations: readonly string[];
      /** Regions that may call it. */
      readonly sources: readonly string[];
    }
  /** A global profile: any commercial region. */
  | {
      readonly kind: 'global';
      readonly profileId: string;
      readonly modelId: string;
      readonly region?: string;
    }
  /**
   * An application inference profile, or another Bedrock ARN (a provisioned or
   * custom model): where it routes cannot be read from the ARN.
   */
  | { readonly kind: 'opaque'; readonly arn: string; readonly what: string };

const ARN =
  /^arn:aws[a-z-]*:bedrock:([a-z0-9-]*):(\d{12})?:(foundation-model|inference-profile|application-inference-profile)\/(.+)$/;

function splitPrefix(id: string): { prefix?: string; rest: string } {
  const dot = id.indexOf('.');
  if (dot <= 0) return { rest: id };
  const prefix = id.slice(0, dot);
  if (prefix === 'global' || prefix in GEOGRAPHIES) return { prefix, rest: id.slice(dot + 1) };
  return { rest: id };
}

/**
 * Where `upstreamId` can run. `callerRegion` is the stack's region, or
 * undefined when it is not known at synth time.
 */
export function bedrockReach(upstreamId: string, callerRegion?: string): BedrockReach {
  let id = upstreamId;
  let region = callerRegion;
  const arn = ARN.exec(upstreamId);
  if (arn) {
    if (arn[3] === 'application-inference-profile') {
      return {
        kind: 'opaque',
        arn: upstreamId,
        what: 'an application inference profile, which can wrap a cross-region profile',
      };
    }
    region = arn[1] || callerRegion;
    id = arn[4];
    if (arn[3] === 'foundation-model') return { kind: 'in-region', modelId: id, region };
  } else if (upstreamId.startsWith('arn:')) {
    return {
      kind: 'opaque',
      arn: upstreamId,
      what: 'a Bedrock ARN that is not a model or profile id (a provisioned or custom model)',
    };
  }
  const { prefix, rest } = splitPrefix(id);
  if (prefix === undefined) return { kind: 'in-region', modelId: id, region };
  if (prefix === 'global') return { kind: 'global', profileId: id, modelId: rest, region };
  const geo = GEOGRAPHIES[prefix];
  const destinations =
    region !== undefined && geo.sources.includes(region)
      ? [...new Set([...geo.shared, region])]
      : [...new Set([...geo.shared, ...geo.sources])];
  return {
    kind: 'geographic',
    profileId: id,
    modelId: rest,
    geography: prefix,
    region,
    destinations: destinations.sort(),
    sources: geo.sources,
  };
}

/**
 * Residency problems of a model list: every model that can send a prompt
 * outside `allowedRegions`, or that cannot be called from `callerRegion` at
 * all. Empty when `allowedRegions` is empty (no restriction) and every
 * profile can be called from the caller's region.
 */
export function residencyProblems(
  models: ReadonlyArray<{ readonly id: string; readonly upstreamId: string }>,
  allowedRegions: readonly string[],
  callerRegion: string | undefined,
  label = 'models',
): string[] {
  const problems: string[] = [];
  const allowed = new Set(allowedRegions);
  models.forEach((m, i) => {
    const at = `${label}[${i}] (${m.id})`;
    const reach = bedrockReach(m.upstreamId, callerRegion);
    if (reach.kind === 'geographic' && reach.region !== undefined) {
      if (!reach.sources.includes(reach.region)) {
        problems.push(
          `${at}: the ${reach.geography}. inference profile cannot be called from ${reach.region} (it serves ${reach.sources.join(', ')})`,
        );
        return;
      }
    }
    if (allowed.size === 0) return;
    switch (reach.kind) {
      case 'in-region':
        if (reach.region !== undefined && !allowed.has(reach.region)) {
          problems.push(`${at} runs in ${reach.region}, which is not in allowedRegions`);
        }
        return;
      case 'geographic': {
        const outside = reach.destinations.filter((r) => !allowed.has(r));
        if (outside.length > 0) {
          problems.push(
            `${at} is a cross-region inference profile (${reach.geography}.) that can send prompts to ${outside.join(', ')}, outside allowedRegions (${allowedRegions.join(', ')}); use the in-region model id ${reach.modelId}, or allow those regions`,
          );
        }
        return;
      }
      case 'global':
        problems.push(
          `${at} is a global cross-region inference profile: it can send prompts to any commercial region, outside allowedRegions (${allowedRegions.join(', ')}); use the in-region model id ${reach.modelId}`,
        );
        return;
      case 'opaque':
        problems.push(
          `${at} is ${reach.what}; where it routes cannot be checked at synth, so it is refused while allowedRegions is set`,
        );
        return;
    }
  });
  return problems;
}

/**
 * Where the stack itself may run under `allowedRegions`: the gateway handles
 * prompts in the stack's region whatever the upstream, so an unknown region
 * (an environment-agnostic stack) or one outside the list is a problem.
 * Undefined when there is none.
 */
export function stackRegionProblem(
  allowedRegions: readonly string[],
  region: string | undefined,
): string | undefined {
  if (allowedRegions.length === 0) return undefined;
  const list = allowedRegions.join(', ');
  if (region === undefined) {
    return `allowedRegions is set (${list}), so the stack needs an explicit region: its env.region (for the Ephemera app, set CDK_DEFAULT_REGION or pass -c region=<region>).`;
  }
  if (!allowedRegions.includes(region)) {
    return `Region ${region} is not in allowedRegions (${list}): data residency forbids deploying Ephemera there.`;
  }
  return undefined;
}
