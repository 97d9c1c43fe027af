/**
 * An image by URL expires (only with `--wait-ttl`, since it waits the image
 * TTL, an hour by default): `response_format: "url"` stores one image; its
 * answer states the TTL in `X-Ephemera-Retention` (`image-ttl=N`); the URL
 * works (200), and once N seconds (plus a margin) have passed since the
 * request it no longer does (403 or 404). The image is the customer's, so the
 * erasure check counts it too.
 */

import { describeError, fail, pass, skip, type Outcome, type SmokeRun } from '../run';
import type { Target } from '../target';

/** Added to the TTL: the URL is signed at the request's second, truncated. */
const MARGIN_MS = 3_000;

const IMAGE_TTL = /image-ttl=(\d{1,9})/;

export async function checkImageTtl(target: Target, run: SmokeRun): Promise<Outcome> {
  if (!run.settings.waitTtl) {
    return skip('pass --wait-ttl to store an image by URL and wait out its TTL');
  }
  const found = await run.discover('image', async (model) => {
    const client = await run.openai();
    const at = Date.now();
    const response = await client.images
      .generate({ model, prompt: 'A small red square.', n: 1, response_format: 'url' })
      .withResponse();
    return {
      at,
      images: response.data,
      retention: response.response.headers.get('x-ephemera-retention'),
    };
  });
  if (found.kind === 'none') {
    return skip(`no image model among the ${found.tried.length} listed by GET /v1/models`);
  }
  if (found.kind === 'error') return fail(`${found.model}: ${found.detail}`);
  const started = found.value.at;
  const url = found.value.images?.data?.[0]?.url;
  if (typeof url !== 'string' || !url.startsWith('https://')) {
    return fail(`${found.model}: no https URL in data[0].url`);
  }
  run.imagesStored += found.value.images.data!.length;
  const ttl = IMAGE_TTL.exec(found.value.retention ?? '')?.[1];
  if (ttl === undefined) {
    return fail(
      `${found.model}: X-Ephemera-Retention states no image-ttl (${found.value.retention ?? 'missing'})`,
    );
  }
  const ttlMs = Number(ttl) * 1000;
  let first: number;
  try {
    const answer = await target.fetch(url, { signal: run.signal });
    await answer.arrayBuffer();
    first = answer.status;
  } catch (err) {
    return fail(`fetching the image URL failed: ${describeError(err)}`);
  }
  if (first !== 200) return fail(`the image URL answered ${first} right away, expected 200`);
  const wait = Math.max(0, started + ttlMs + MARGIN_MS - Date.now());
  run.settings.note?.(`waiting ${Math.ceil(wait / 1000)} s for the image TTL (${ttl} s)`);
  await run.sleep(wait);
  if (run.signal.aborted) return fail('stopped while waiting for the image TTL');
  let after: number;
  try {
    const answer = await target.fetch(url, { signal: run.signal });
    await answer.arrayBuffer();
    after = answer.status;
  } catch (err) {
    return fail(`fetching the image URL after its TTL failed: ${describeError(err)}`);
  }
  if (after !== 403 && after !== 404) {
    return fail(
      `the image URL still answered ${after} ${Math.round((Date.now() - started) / 1000)} s after the request (image-ttl=${ttl})`,
    );
  }
  return pass(
    `${found.model}: image URL 200, then ${after} after image-ttl=${ttl} s (+${MARGIN_MS / 1000} s)`,
  );
}
