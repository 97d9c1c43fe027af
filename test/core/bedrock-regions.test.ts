import { bedrockReach, residencyProblems } from '../../lib/core/bedrock-regions';

describe('bedrockReach', () => {
  test('a foundation model runs in the caller region, or in the region of its ARN', () => {
    expect(bedrockReach('amazon.nova-lite-v1:0', 'eu-west-1')).toEqual({
      kind: 'in-region',
      modelId: 'amazon.nova-lite-v1:0',
      region: 'eu-west-1',
    });
    expect(
      bedrockReach(
        'arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0',
        'eu-west-1',
      ),
    ).toEqual({ kind: 'in-region', modelId: 'amazon.nova-lite-v1:0', region: 'us-east-1' });
  });

  test('a geographic profile reaches its geography; a caller that is its own destination is added', () => {
    const fromIreland = bedrockReach('eu.anthropic.claude-x-v1:0', 'eu-west-1');
    expect(fromIreland).toMatchObject({
      kind: 'geographic',
      geography: 'eu',
      modelId: 'anthropic.claude-x-v1:0',
      destinations: [
        'eu-central-1',
        'eu-north-1',
        'eu-south-1',
        'eu-south-2',
        'eu-west-1',
        'eu-west-3',
      ],
    });
    expect(bedrockReach('eu.anthropic.claude-x-v1:0', 'eu-central-2')).toMatchObject({
      destinations: expect.arrayContaining(['eu-central-2']),
    });
    expect(bedrockReach('us.amazon.nova-lite-v1:0', 'ca-central-1')).toMatchObject({
      destinations: ['ca-central-1', 'us-east-1', 'us-east-2', 'us-west-2'],
    });
  });

  test('with an unknown caller region, a geographic profile reaches every region of its geography', () => {
    const reach = bedrockReach('jp.amazon.nova-lite-v1:0');
    expect(reach).toMatchObject({ destinations: ['ap-northeast-1', 'ap-northeast-3'] });
  });

  test('a profile ARN carries its own source region', () => {
    expect(
      bedrockReach(
        'arn:aws:bedrock:eu-west-3:111111111111:inference-profile/eu.amazon.nova-lite-v1:0',
        'eu-west-1',
      ),
    ).toMatchObject({ kind: 'geographic', region: 'eu-west-3' });
  });

  test('global and application profiles', () => {
    expect(bedrockReach('global.anthropic.claude-x-v1:0', 'eu-west-1')).toEqual({
      kind: 'global',
      profileId: 'global.anthropic.claude-x-v1:0',
      modelId: 'anthropic.claude-x-v1:0',
      region: 'eu-west-1',
    });
    expect(
      bedrockReach('arn:aws:bedrock:eu-west-1:111111111111:application-inference-profile/a1'),
    ).toEqual({
      kind: 'opaque',
      arn: 'arn:aws:bedrock:eu-west-1:111111111111:application-inference-profile/a1',
      what: 'an application inference profile, which can wrap a cross-region profile',
    });
    expect(
      bedrockReach('arn:aws:bedrock:eu-west-1:111111111111:provisioned-model/p1'),
    ).toMatchObject({ kind: 'opaque', what: expect.stringContaining('provisioned') });
  });

  test('a provider prefix is not a geography', () => {
    expect(bedrockReach('meta.llama3-70b-instruct-v1:0', 'us-east-1').kind).toBe('in-region');
    expect(bedrockReach('amazon.titan-embed-text-v2:0', 'us-east-1').kind).toBe('in-region');
  });
});

describe('residencyProblems', () => {
  const models = (upstreamId: string) => [{ id: 'm', upstreamId }];

  test('nothing to say without allowedRegions, for profiles callable from the caller region', () => {
    expect(residencyProblems(models('eu.amazon.nova-lite-v1:0'), [], 'eu-west-1')).toEqual([]);
    expect(residencyProblems(models('global.amazon.nova-lite-v1:0'), [], 'eu-west-1')).toEqual([]);
  });

  test('a geographic profile inside the allowed regions passes; one reaching further is refused', () => {
    const eu = ['eu-central-1', 'eu-north-1', 'eu-south-1', 'eu-south-2', 'eu-west-1', 'eu-west-3'];
    expect(residencyProblems(models('eu.amazon.nova-lite-v1:0'), eu, 'eu-west-1')).toEqual([]);
    expect(
      residencyProblems(models('apac.amazon.nova-lite-v1:0'), ['ap-northeast-1'], 'ap-northeast-1'),
    ).toEqual([
      expect.stringContaining('can send prompts to ap-east-2, ap-northeast-2, ap-northeast-3'),
    ]);
  });

  test('with allowedRegions and an unknown caller region, the whole geography must be allowed', () => {
    expect(
      residencyProblems(models('au.amazon.nova-lite-v1:0'), ['ap-southeast-2'], undefined),
    ).toEqual([expect.stringContaining('ap-southeast-4, ap-southeast-6')]);
  });
});
