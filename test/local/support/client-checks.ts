/**
 * Real clients against local mode, run as a user runs them: a separate Node
 * process that trusts the local CA through NODE_EXTRA_CA_CERTS, with
 * EPHEMERA_URL and EPHEMERA_INFERENCE_KEY set. It runs the official `openai`
 * package and the Vercel AI SDK (`ai` with `@ai-sdk/openai`) through a chat,
 * a streamed chat, a tool call, an image, embeddings and three refused requests, and
 * prints what it saw as one JSON line for the test to check.
 */

import { createOpenAI } from '@ai-sdk/openai';
import { embedMany, generateImage, generateText, streamText } from 'ai';
import OpenAI from 'openai';
import { failure } from './client-failure';
import { aiWeatherTools } from './client-tools';

const baseURL = `${process.env.EPHEMERA_URL}/v1`;
const apiKey = process.env.EPHEMERA_INFERENCE_KEY ?? '';

/** Arrival times of the pieces of a stream, and their text. */
async function timed(pieces: AsyncIterable<string>) {
  const started = performance.now();
  const at: number[] = [];
  let text = '';
  for await (const piece of pieces) {
    if (piece === '') continue;
    at.push(performance.now() - started);
    text += piece;
  }
  return { text, count: at.length, first: at[0], last: at.at(-1) };
}

async function openaiChecks() {
  const client = new OpenAI({ baseURL, apiKey, maxRetries: 0 });
  const chat = await client.chat.completions.create({
    model: 'demo-chat',
    messages: [{ role: 'user', content: 'Hello' }],
  });
  const stream = await client.chat.completions.create({
    model: 'demo-chat',
    messages: [{ role: 'user', content: 'Hello' }],
    stream: true,
    stream_options: { include_usage: true },
  });
  let usage: unknown;
  const streamed = await timed(
    (async function* () {
      for await (const chunk of stream) {
        if (chunk.usage) usage = chunk.usage;
        yield chunk.choices[0]?.delta?.content ?? '';
      }
    })(),
  );
  const tools = await client.chat.completions.create({
    model: 'demo-chat',
    messages: [{ role: 'user', content: 'What is the weather in Paris?' }],
    tools: [
      {
        type: 'function',
        function: {
          name: 'get_weather',
          description: 'Weather for a city',
          parameters: {
            type: 'object',
            properties: { city: { type: 'string' } },
            required: ['city'],
          },
        },
      },
    ],
  });
  const image = await client.images.generate({
    model: 'demo-image',
    prompt: 'a lighthouse',
    response_format: 'url',
  });
  const imageBytes = await fetch(image.data?.[0]?.url ?? '').then((r) => r.arrayBuffer());
  // The client asks for base64 by default and decodes it; floats only when asked.
  const texts = ['glacier tide', 'amber orchard'];
  const embedded = await client.embeddings.create({ model: 'demo-embedding', input: texts });
  const floats = await client.embeddings.create({
    model: 'demo-embedding',
    input: texts,
    encoding_format: 'float',
  });
  const short = await client.embeddings.create({
    model: 'demo-embedding',
    input: texts[0],
    dimensions: 64,
  });
  return {
    chat: { text: chat.choices[0].message.content, usage: chat.usage },
    streamed: { ...streamed, usage },
    tools: {
      finish: tools.choices[0].finish_reason,
      calls: tools.choices[0].message.tool_calls?.map((c) =>
        c.type === 'function' ? { name: c.function.name, arguments: c.function.arguments } : c,
      ),
    },
    image: { url: image.data?.[0]?.url?.slice(0, 8), bytes: imageBytes.byteLength },
    embeddings: {
      vectors: embedded.data.map((d) => d.embedding),
      floats: floats.data.map((d) => d.embedding),
      usage: embedded.usage,
      model: embedded.model,
      short: short.data[0].embedding.length,
    },
    errors: {
      badKey: await failure(() =>
        new OpenAI({ baseURL, apiKey: 'eph_nokey_nosecret', maxRetries: 0 }).models.list(),
      ),
      unknownModel: await failure(() =>
        client.chat.completions.create({
          model: 'no-such-model',
          messages: [{ role: 'user', content: 'Hello' }],
        }),
      ),
      badInput: await failure(() =>
        client.chat.completions.create({
          model: 'demo-chat',
          messages: [{ role: 'user', content: 'Hello' }],
          temperature: 7,
        }),
      ),
    },
  };
}

async function aiSdkChecks() {
  const provider = createOpenAI({ baseURL, apiKey });
  const model = provider.chat('demo-chat');
  const chat = await generateText({ model, prompt: 'Hello', maxRetries: 0 });
  const streamed = await timed(streamText({ model, prompt: 'Hello', maxRetries: 0 }).textStream);
  const tools = await generateText({
    model,
    prompt: 'What is the weather in Paris?',
    maxRetries: 0,
    tools: aiWeatherTools,
  });
  const image = await generateImage({
    model: provider.image('demo-image'),
    prompt: 'a lighthouse',
    size: '256x256',
    maxRetries: 0,
  });
  const embedded = await embedMany({
    model: provider.embedding('demo-embedding'),
    values: ['glacier tide', 'amber orchard'],
    maxRetries: 0,
  });
  return {
    chat: { text: chat.text, usage: chat.usage },
    streamed,
    tools: {
      finish: tools.finishReason,
      calls: tools.toolCalls.map((c) => ({ name: c.toolName, input: c.input })),
    },
    image: { bytes: image.image.uint8Array.byteLength, mediaType: image.image.mediaType },
    embeddings: { vectors: embedded.embeddings, tokens: embedded.usage.tokens },
    errors: {
      badKey: await failure(() =>
        generateText({
          model: createOpenAI({ baseURL, apiKey: 'eph_nokey_nosecret' }).chat('demo-chat'),
          prompt: 'Hello',
          maxRetries: 0,
        }),
      ),
      unknownModel: await failure(() =>
        generateText({ model: provider.chat('no-such-model'), prompt: 'Hello', maxRetries: 0 }),
      ),
      badInput: await failure(() =>
        generateText({ model, prompt: 'Hello', temperature: 7, maxRetries: 0 }),
      ),
    },
  };
}

async function main() {
  const result = { openai: await openaiChecks(), ai: await aiSdkChecks() };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`client checks failed: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});
