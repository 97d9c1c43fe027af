/**
 * s3rver's file store, made safe for a full disk (used by `./stores`).
 *
 * s3rver (3.7) writes an object straight over its file with a write stream
 * that has no error listener, then its checksum and metadata files: a full
 * disk there stops the whole process (an unhandled stream error), and a
 * failed overwrite leaves the old object truncated. Here PutObject writes the
 * object, its checksum and its metadata to temporary files next to them
 * (which s3rver's listings skip: they do not end in its object suffix) and
 * renames them into place only once all three are written. A write that
 * fails removes its temporary files and fails the request alone, with
 * s3rver's `InternalError` (HTTP 500), leaving the object as it was;
 * `onStoreError` is told.
 */

import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** The parts of s3rver's FilesystemStore used here. */
interface FilesystemStore {
  getResourcePath(bucket: string, key: string, resource: string): string;
  putObject(object: S3rverObject): Promise<{ size: number; md5: string }>;
}

/** s3rver's object model as PutObject hands it to the store. */
interface S3rverObject {
  readonly bucket: string;
  readonly key: string;
  readonly content: Buffer | NodeJS.ReadableStream;
  readonly metadata: Record<string, string>;
}

// s3rver ships no types: the metadata it keeps, as its own putMetadata picks it.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { ALLOWED_METADATA } = require('s3rver/lib/models/object') as {
  ALLOWED_METADATA: readonly string[];
};

/** The metadata s3rver keeps for an object: the allowed headers and the user metadata. */
function keptMetadata(metadata: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(metadata).filter(
      ([name]) => ALLOWED_METADATA.includes(name) || name.startsWith('x-amz-meta-'),
    ),
  );
}

/** Replaces the store's PutObject with one that writes whole objects or nothing. */
export function makeObjectWritesAtomic(
  store: FilesystemStore,
  onStoreError: (err: unknown) => void,
): void {
  store.putObject = async (object) => {
    const path = (resource: string) => store.getResourcePath(object.bucket, object.key, resource);
    const targets = [path('object'), path('object.md5'), path('metadata.json')] as const;
    const tag = `.${process.pid}-${randomBytes(6).toString('hex')}.tmp`;
    const temporary = targets.map((target) => `${target}${tag}`);
    try {
      await mkdir(dirname(targets[0]), { recursive: true });
      const hash = createHash('md5');
      let size = 0;
      await pipeline(
        Buffer.isBuffer(object.content) ? Readable.from([object.content]) : object.content,
        new Transform({
          transform(chunk: Buffer, _encoding, callback) {
            hash.update(chunk);
            size += chunk.length;
            callback(null, chunk);
          },
        }),
        createWriteStream(temporary[0], { flags: 'wx', mode: 0o600 }),
      );
      const md5 = hash.digest('hex');
      await writeFile(temporary[1], md5, { flag: 'wx', mode: 0o600 });
      await writeFile(temporary[2], JSON.stringify(keptMetadata(object.metadata), null, 2), {
        flag: 'wx',
        mode: 0o600,
      });
      // Everything is written: into place, the object last (renames take no space).
      await rename(temporary[2], targets[2]);
      await rename(temporary[1], targets[1]);
      await rename(temporary[0], targets[0]);
      return { size, md5 };
    } catch (err) {
      await Promise.all(temporary.map((file) => rm(file, { force: true }).catch(() => undefined)));
      onStoreError(err);
      // s3rver answers InternalError; nothing of the failure (paths, keys) goes with it.
      throw new Error('The object could not be written');
    }
  };
}
