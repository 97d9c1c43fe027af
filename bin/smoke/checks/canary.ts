/**
 * No request content in the usage log or in an error: requests carry random
 * canary strings everywhere a client can put content (system and user
 * messages, instructions, embedding input, the query string, a header, the
 * `user` field, `metadata`), some succeed and some are refused (a bad field
 * value, an unknown model, malformed JSON, a bad role, `store: true`, a bad
 * customer id, a malformed key, an unknown path). Then no canary, nor the
 * synthetic customer id itself, is in `GET /v1/logs` (the customer's records,
 * and each request's record by its id) or in the body of any error answer of
 * the run. The records of the requests that succeeded must be there, so the
 * search is not over nothing.
 */

import { randomBytes } from 'node:crypto';
import { fail, pass, type Outcome, type SmokeRun } from '../run';
import type { CallAnswer, Target } from '../target';
import { customerLogs, requestLogs } from '../logs';
import { findChat, findEmbedding } from './inference';

/** How long the customer's records may take to show (an index updated asynchronously). */
const LOGS_WAIT_MS = 15_000;

export async function checkCanary(target: Target, run: SmokeRun): Promise<Outcome> {
  const prefix = `SMOKECANARY${randomBytes(6).toString('hex')}`;
  let serial = 0;
  const canary = () => `${prefix}x${++serial}`;
  const chat = await findChat(run);
  const embedding = await findEmbedding(run);
  const chatModel = chat.kind === 'found' ? chat.model : 'ephemera-smoke-no-such-model';

  const sent: { what: string; answer: CallAnswer; mustSucceed: boolean }[] = [];
  const send = async (
    what: string,
    mustSucceed: boolean,
    path: string,
    options: Parameters<SmokeRun['inference']>[1],
  ) => sent.push({ what, mustSucceed, answer: await run.inference(path, options) });

  if (chat.kind === 'found') {
    await send('chat', true, `/v1/chat/completions?note=${canary()}`, {
      headers: { 'x-smoke-note': canary() },
      body: {
        model: chatModel,
        messages: [
          { role: 'system', content: `You are ${canary()}.` },
          { role: 'user', content: `Say hello to ${canary()}.` },
        ],
        max_tokens: 16,
        user: canary(),
      },
    });
    await send('responses', true, '/v1/responses', {
      body: {
        model: chatModel,
        instructions: `Mention ${canary()}.`,
        input: `Hello ${canary()}`,
        max_output_tokens: 16,
        metadata: { note: canary() },
        store: false,
      },
    });
  }
  if (embedding.kind === 'found') {
    await send('embeddings', true, '/v1/embeddings', {
      body: { model: embedding.model, input: [`About ${canary()}`] },
    });
  }
  const userMessage = () => [{ role: 'user', content: `Tell me about ${canary()}` }];
  await send('a bad temperature', false, '/v1/chat/completions', {
    body: { model: chatModel, messages: userMessage(), temperature: canary() },
  });
  await send('an unknown model', false, '/v1/chat/completions', {
    // Not shaped like a model id (a space), so the 404 may not name it; an
    // id-shaped name is named back to its sender, as OpenAI does.
    body: { model: `${canary()} x`, messages: userMessage() },
  });
  await send('malformed JSON', false, '/v1/chat/completions', {
    rawBody: `{"model":"${chatModel}","messages":[{"role":"user","content":"${canary()}"}`,
  });
  await send('a bad role', false, '/v1/chat/completions', {
    body: { model: chatModel, messages: [{ role: canary(), content: canary() }] },
  });
  await send('store: true', false, '/v1/chat/completions', {
    body: { model: chatModel, messages: userMessage(), store: true },
  });
  await send('a bad customer id', false, '/v1/chat/completions', {
    headers: { 'x-ephemera-metadata': `customer_id=${canary()} ${canary()}` },
    body: { model: chatModel, messages: userMessage() },
  });
  // A plain unknown path is named in the 404 (`Invalid URL (POST /v1/...)`, as OpenAI's); one
  // with a character outside the plain ones (`!`) must not be.
  await send('an unknown path', false, `/v1/${canary()}!`, { body: { input: canary() } });
  sent.push({
    what: 'a malformed key',
    mustSucceed: false,
    answer: await target.api('/v1/models', {
      key: `eph_${canary()}`,
      headers: run.tag(),
      signal: run.signal,
    }),
  });

  const problems: string[] = [];
  for (const { what, answer, mustSucceed } of sent) {
    if (mustSucceed && answer.status !== 200) problems.push(`${what} answered ${answer.status}`);
    if (!mustSucceed && answer.status < 400)
      problems.push(`${what} was accepted (${answer.status})`);
  }

  // The customer's records, once those of the requests that succeeded show.
  const expected = sent.filter((s) => s.mustSucceed && s.answer.requestId);
  const deadline = Date.now() + LOGS_WAIT_MS;
  let customer = await customerLogs(run);
  const listed = () => new Set(customer.records.map((r) => r.request_id));
  while (
    expected.some((s) => !listed().has(s.answer.requestId)) &&
    Date.now() < deadline &&
    !run.signal.aborted
  ) {
    await run.sleep(1_000);
    customer = await customerLogs(run);
  }
  for (const s of expected) {
    if (!listed().has(s.answer.requestId)) {
      problems.push(`the ${s.what} request is not among the customer's records`);
    }
  }
  const texts: { where: string; text: string }[] = customer.texts.map((text) => ({
    where: "the customer's records",
    text,
  }));
  let byId = 0;
  for (const { what, answer, mustSucceed } of sent) {
    if (!answer.requestId) continue;
    const one = await requestLogs(run, answer.requestId);
    byId += one.records.length;
    if (mustSucceed && one.records.length === 0) {
      problems.push(`no record of the ${what} request by its id`);
    }
    texts.push(...one.texts.map((text) => ({ where: `the record of the ${what} request`, text })));
  }
  const errors = target.seen.filter((s) => s.errorBody !== undefined);
  texts.push(
    ...errors.map((s) => ({
      where: `the ${s.status} error body of ${s.method} ${s.path.includes(prefix) ? '<unknown path>' : s.path}`,
      text: s.errorBody!,
    })),
  );
  for (const { where, text } of texts) {
    if (text.includes(prefix)) problems.push(`a canary in ${where}`);
    if (text.includes(run.customerId)) problems.push(`the customer id in ${where}`);
  }
  const summary = `${sent.length} requests with ${serial} canaries (${sent.filter((s) => s.answer.status >= 400).length} refused); ${customer.records.length} customer records, ${byId} records by request id, ${errors.length} error bodies searched`;
  if (problems.length > 0) return fail(`${[...new Set(problems)].join('; ')} (${summary})`);
  return pass(`no canary found: ${summary}`);
}
