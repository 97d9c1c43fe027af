/**
 * The model routes, through the official `openai` client on the temporary
 * key: a chat completion, the same streamed (chunks, then `data: [DONE]`),
 * the Responses API, and embeddings of two texts. The models come from
 * `GET /v1/models` (`--model`, `--embedding-model` to choose); a kind the
 * deployment does not offer (no embedding model) is a SKIP. Prompts are
 * short and answers capped, so a run costs a few hundred tokens.
 */

import type OpenAI from 'openai';
import { describeError, fail, pass, skip, type Found, type Outcome, type SmokeRun } from '../run';
import type { FetchLike, Target } from '../target';

const PROMPT = 'Reply with one short word.';
const MAX_TOKENS = 32;

/** The chat model, found with a plain chat completion (which the chat check then judges). */
export function findChat(run: SmokeRun): Promise<Found<OpenAI.Chat.ChatCompletion>> {
  return run.discover('chat', async (model) =>
    (await run.openai()).chat.completions.create({
      model,
      messages: [{ role: 'user', content: PROMPT }],
      max_tokens: MAX_TOKENS,
    }),
  );
}

/** The embedding model, found with an embedding of two texts (which the check then judges). */
export function findEmbedding(run: SmokeRun): Promise<Found<OpenAI.CreateEmbeddingResponse>> {
  return run.discover('embedding', async (model) =>
    (await run.openai()).embeddings.create({ model, input: ['smoke one', 'smoke two'] }),
  );
}

/** A SKIP or FAIL for a kind that was not found; undefined when it was. */
function notFound<T>(found: Found<T>, kind: string): Outcome | undefined {
  if (found.kind === 'none') {
    return skip(`no ${kind} model among the ${found.tried.length} listed by GET /v1/models`);
  }
  if (found.kind === 'error') return fail(`${found.model}: ${found.detail}`);
  return undefined;
}

export async function checkChat(_target: Target, run: SmokeRun): Promise<Outcome> {
  const found = await findChat(run);
  const missing = notFound(found, 'chat');
  if (missing || found.kind !== 'found') return missing!;
  const completion = found.value;
  const choice = completion?.choices?.[0];
  const text = choice?.message?.content;
  if (completion?.object !== 'chat.completion') {
    return fail(`${found.model}: object ${String(completion?.object)}, expected chat.completion`);
  }
  if (typeof text !== 'string' || text.length === 0) {
    return fail(`${found.model}: no text in choices[0].message.content`);
  }
  if (typeof completion.usage?.total_tokens !== 'number') {
    return fail(`${found.model}: no usage in the answer`);
  }
  return pass(
    `${found.model}: ${text.length} characters, finish_reason ${choice.finish_reason}, ${completion.usage.total_tokens} tokens`,
  );
}

/** A fetch that remembers the last bytes of each streamed body it passes on. */
function tailRecorder(fetch: FetchLike): { fetch: FetchLike; tail(): string } {
  let tail = '';
  const wrapped: FetchLike = async (input, init) => {
    const response = await fetch(input, init);
    if (!response.body) return response;
    const decoder = new TextDecoder();
    const body = response.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          tail = (tail + decoder.decode(chunk, { stream: true })).slice(-200);
          controller.enqueue(chunk);
        },
      }),
    );
    return new Response(body, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  };
  return { fetch: wrapped, tail: () => tail };
}

export async function checkChatStream(target: Target, run: SmokeRun): Promise<Outcome> {
  const found = await findChat(run);
  const missing = notFound(found, 'chat');
  if (missing || found.kind !== 'found') return missing!;
  const recorder = tailRecorder(target.apiFetch);
  const client = (await run.openai()).withOptions({ fetch: recorder.fetch });
  let chunks = 0;
  let text = '';
  let usage: number | undefined;
  try {
    const stream = await client.chat.completions.create({
      model: found.model,
      messages: [{ role: 'user', content: PROMPT }],
      max_tokens: MAX_TOKENS,
      stream: true,
      stream_options: { include_usage: true },
    });
    for await (const chunk of stream) {
      chunks++;
      if (chunk.object !== 'chat.completion.chunk') {
        return fail(`${found.model}: a chunk of object ${String(chunk.object)}`);
      }
      text += chunk.choices?.[0]?.delta?.content ?? '';
      if (chunk.usage) usage = chunk.usage.total_tokens;
    }
  } catch (err) {
    return fail(`${found.model}: ${describeError(err)}${chunks ? ` after ${chunks} chunks` : ''}`);
  }
  const ended = recorder.tail().trimEnd().endsWith('data: [DONE]');
  const problems = [
    chunks === 0 ? 'no chunks' : '',
    text.length === 0 ? 'no text in the deltas' : '',
    ended ? '' : 'the stream did not end with data: [DONE]',
    usage === undefined ? 'no usage chunk (stream_options.include_usage)' : '',
  ].filter(Boolean);
  if (problems.length > 0) return fail(`${found.model}: ${problems.join(', ')}`);
  return pass(
    `${found.model}: ${chunks} chunks, ${text.length} characters, usage ${usage} tokens, ended with [DONE]`,
  );
}

export async function checkResponses(_target: Target, run: SmokeRun): Promise<Outcome> {
  const found = await findChat(run);
  const missing = notFound(found, 'chat');
  if (missing || found.kind !== 'found') return missing!;
  let response: OpenAI.Responses.Response;
  try {
    response = await (
      await run.openai()
    ).responses.create({
      model: found.model,
      input: PROMPT,
      max_output_tokens: MAX_TOKENS,
      store: false,
    });
  } catch (err) {
    return fail(`${found.model}: ${describeError(err)}`);
  }
  const completed =
    response?.status === 'completed' ||
    (response?.status === 'incomplete' &&
      response.incomplete_details?.reason === 'max_output_tokens');
  const text = response?.output_text ?? '';
  const problems = [
    response?.object === 'response' ? '' : `object ${String(response?.object)}`,
    String(response?.id).startsWith('resp_') ? '' : 'an id not starting with resp_',
    completed ? '' : `status ${String(response?.status)}`,
    text.length > 0 ? '' : 'no output_text',
    typeof response?.usage?.total_tokens === 'number' ? '' : 'no usage',
  ].filter(Boolean);
  if (problems.length > 0) return fail(`${found.model}: ${problems.join(', ')}`);
  return pass(
    `${found.model}: status ${response.status}, ${text.length} characters, ${response.usage!.total_tokens} tokens`,
  );
}

export async function checkEmbeddings(_target: Target, run: SmokeRun): Promise<Outcome> {
  const found = await findEmbedding(run);
  const missing = notFound(found, 'embedding');
  if (missing || found.kind !== 'found') return missing!;
  const data = found.value?.data;
  if (!Array.isArray(data) || data.length !== 2) {
    return fail(`${found.model}: ${Array.isArray(data) ? data.length : 'no'} vectors for 2 inputs`);
  }
  const lengths = new Set<number>();
  for (const [i, item] of data.entries()) {
    const vector = item?.embedding as unknown;
    if (item?.index !== i) return fail(`${found.model}: data[${i}] has index ${item?.index}`);
    if (
      !(Array.isArray(vector) || vector instanceof Float32Array) ||
      vector.length === 0 ||
      !Array.from(vector as ArrayLike<number>).every(Number.isFinite)
    ) {
      return fail(`${found.model}: data[${i}] is not a vector of finite numbers`);
    }
    lengths.add(vector.length);
  }
  if (lengths.size !== 1) return fail(`${found.model}: vectors of different lengths`);
  return pass(`${found.model}: 2 vectors of ${[...lengths][0]} dimensions`);
}
