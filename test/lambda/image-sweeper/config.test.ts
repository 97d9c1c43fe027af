import {
  DEFAULT_MAX_DELETES_PER_RUN,
  readSweeperConfig,
} from '../../../lambda/image-sweeper/config';

describe('readSweeperConfig', () => {
  test('reads the bucket name and defaults MAX_DELETES_PER_RUN to 50000', () => {
    expect(readSweeperConfig({ IMAGE_BUCKET_NAME: 'ephemera-images-123' })).toEqual({
      bucketName: 'ephemera-images-123',
      maxDeletesPerRun: 50_000,
    });
    expect(DEFAULT_MAX_DELETES_PER_RUN).toBe(50_000);
    expect(
      readSweeperConfig({ IMAGE_BUCKET_NAME: 'b.u-c', MAX_DELETES_PER_RUN: '' }).maxDeletesPerRun,
    ).toBe(50_000);
  });

  test.each([
    ['1', 1],
    ['2000', 2000],
    ['10000000', 10_000_000],
  ])('accepts MAX_DELETES_PER_RUN=%s', (raw, expected) => {
    expect(
      readSweeperConfig({ IMAGE_BUCKET_NAME: 'bucket', MAX_DELETES_PER_RUN: raw }).maxDeletesPerRun,
    ).toBe(expected);
  });

  test.each(['0', '-5', '1.5', '1e3', ' 10', '10000001', 'abc', '0x10', '9999999999'])(
    'rejects MAX_DELETES_PER_RUN=%j',
    (raw) => {
      expect(() =>
        readSweeperConfig({ IMAGE_BUCKET_NAME: 'bucket', MAX_DELETES_PER_RUN: raw }),
      ).toThrow(
        'Invalid image sweeper configuration: MAX_DELETES_PER_RUN must be a whole number from 1 to 10000000',
      );
    },
  );

  test('requires IMAGE_BUCKET_NAME', () => {
    expect(() => readSweeperConfig({})).toThrow(
      'Invalid image sweeper configuration: IMAGE_BUCKET_NAME is required (an S3 bucket name)',
    );
  });

  test.each(['ab', 'Upper', 'has_underscore', 'a..b', '-start', 'end-', 'x'.repeat(64)])(
    'rejects the bucket name %j',
    (name) => {
      expect(() => readSweeperConfig({ IMAGE_BUCKET_NAME: name })).toThrow(
        'Invalid image sweeper configuration: IMAGE_BUCKET_NAME must be an S3 bucket name',
      );
    },
  );

  test('reports every problem at once', () => {
    expect(() => readSweeperConfig({ MAX_DELETES_PER_RUN: 'lots' })).toThrow(
      'Invalid image sweeper configuration: IMAGE_BUCKET_NAME is required (an S3 bucket name); MAX_DELETES_PER_RUN must be a whole number from 1 to 10000000',
    );
  });
});
