/**
 * The official `openai` package and the Vercel AI SDK's default provider
 * against local mode, on the routes current client code reaches for first:
 * the Responses API (whole and streamed), embeddings (float, base64 and the
 * SDK's own base64 default), one-model lookup, and errors surfacing `code`
 * and `param`. Run in its own process as a user runs it (trusting the local
 * CA through NODE_EXTRA_CA_CERTS); prints what it saw as one JSON line.
 * Every input carries the canary in EPHEMERA_CANARY, which the test then
 * looks for in local mode's output.
 */

import { createOpenAI } from '@ai-sdk/openai';
import { embed, generateText, streamText } from 'ai';
import OpenAI from 'openai';
import { failure } from './client-failure';
import { aiWeatherTools } from './client-tools';

const baseURL = `${process.env.EPHEMERA_URL}/v1`;
const apiKey = process.env.EPHEMERA_INFERENCE_KEY ?? '';
const canary = process.env.EPHEMERA_CANARY ?? 'CANARY';

/** What a call threw, and whether its text repeats the canary. */
const failed = (call: () => Promise<unknown>) => failure(call, canary);

const weatherTool = {
  type: 'function' as const,
  name: 'get_weather',
  description: 'Weather for a city',
  parameters: {
    type: 'object',
    properties: { city: { type: 'string' } },
    required: ['city'],
    additionalProperties: false,
  },
  strict: true,
};

/** Float32 little-endian base64, decoded as OpenAI documents it. */
const fromBase64 = (text: string): number[] =>
  Array.from(new Float32Array(new Uint8Array(Buffer.from(text, 'base64')).buffer));

async function openaiChecks() {
  const client = new OpenAI({ baseURL, apiKey, maxRetries: 0 });
  const whole = await client.responses.create({
    model: 'demo-chat',
    instructions: `Answer briefly ${canary}`,
    input: `Hello ${canary}`,
  });
  const stream = await client.responses.create({
    model: 'demo-chat',
    input: [{ role: 'user', content: `Hello ${canary}` }],
    stream: true,
  });
  const events: string[] = [];
  let deltas = '';
  let completedText: string | undefined;
  for await (const event of stream) {
    events.push(event.type);
    if (event.type === 'response.output_text.delta') deltas += event.delta;
    if (event.type === 'response.completed') {
      // output_text is the SDK's own convenience on whole answers; gather it here.
      completedText = event.response.output
        .flatMap((item) => (item.type === 'message' ? item.content : []))
        .map((part) => (part.type === 'output_text' ? part.text : ''))
        .join('');
    }
  }
  const toolCall = await client.responses.create({
    model: 'demo-chat',
    input: `What is the weather in Paris? ${canary}`,
    tools: [weatherTool],
    tool_choice: 'required',
  });
  const call = toolCall.output.find((item) => item.type === 'function_call');
  const followUp =
    call?.type === 'function_call'
      ? await client.responses.create({
          model: 'demo-chat',
          input: [
            { role: 'user', content: `What is the weather in Paris? ${canary}` },
            call,
            { type: 'function_call_output', call_id: call.call_id, output: `sunny ${canary}` },
          ],
          tools: [weatherTool],
        })
      : undefined;

  const inputs = [`first ${canary}`, `second ${canary}`];
  const floats = await client.embeddings.create({
    model: 'demo-embedding',
    input: inputs,
    encoding_format: 'float',
  });
  const base64 = await client.embeddings.create({
    model: 'demo-embedding',
    input: inputs,
    encoding_format: 'base64',
  });
  // Without encoding_format the SDK asks for base64 and decodes it itself.
  const sdkDefault = await client.embeddings.create({ model: 'demo-embedding', input: inputs });
  const shorter = await client.embeddings.create({
    model: 'demo-embedding',
    input: inputs[0],
    dimensions: 64,
  });

  const model = await client.models.retrieve('demo-chat');
  return {
    whole: {
      object: whole.object,
      status: whole.status,
      store: (whole as unknown as { store?: boolean }).store,
      text: whole.output_text,
      usage: whole.usage,
    },
    streamed: { events, deltas, completedText },
    tools: {
      call: call?.type === 'function_call' ? { name: call.name, arguments: call.arguments } : null,
      followUp: followUp?.output_text,
    },
    embeddings: {
      count: floats.data.length,
      dims: floats.data.map((d) => d.embedding.length),
      usage: floats.usage,
      // base64 carries float32: each value is the float's nearest float32.
      base64Matches: base64.data.every(
        (d, i) =>
          typeof d.embedding === 'string' &&
          JSON.stringify(fromBase64(d.embedding as unknown as string)) ===
            JSON.stringify(floats.data[i].embedding.map(Math.fround)),
      ),
      sdkDefaultMatches: sdkDefault.data.every(
        (d, i) =>
          JSON.stringify(d.embedding) === JSON.stringify(floats.data[i].embedding.map(Math.fround)),
      ),
      shorterDims: shorter.data[0].embedding.length,
    },
    model,
    errors: {
      unknownModel: await failed(() => client.models.retrieve('no-such-model')),
      unknownResponsesModel: await failed(() =>
        client.responses.create({ model: 'no-such-model', input: canary }),
      ),
      badTemperature: await failed(() =>
        client.responses.create({ model: 'demo-chat', input: canary, temperature: 7 }),
      ),
      stored: await failed(() =>
        client.responses.create({ model: 'demo-chat', input: canary, store: true }),
      ),
      previous: await failed(() =>
        client.responses.create({
          model: 'demo-chat',
          input: canary,
          previous_response_id: `resp_${canary}`,
        }),
      ),
      badEmbeddingInput: await failed(() =>
        client.embeddings.create({ model: 'demo-embedding', input: [canary, ''] }),
      ),
      chatModelForEmbeddings: await failed(() =>
        client.embeddings.create({ model: 'demo-chat', input: canary }),
      ),
    },
  };
}

async function aiSdkChecks() {
  const openai = createOpenAI({ baseURL, apiKey });
  // The default provider: the Responses API.
  const chat = await generateText({
    model: openai('demo-chat'),
    prompt: `Hello ${canary}`,
    maxRetries: 0,
  });
  let streamedText = '';
  const streamed = streamText({
    model: openai('demo-chat'),
    prompt: `Hello ${canary}`,
    maxRetries: 0,
  });
  for await (const piece of streamed.textStream) streamedText += piece;
  const tools = await generateText({
    model: openai('demo-chat'),
    prompt: `What is the weather in Paris? ${canary}`,
    maxRetries: 0,
    toolChoice: 'required',
    tools: aiWeatherTools,
  });
  const embedded = await embed({
    model: openai.embedding('demo-embedding'),
    value: `embed me ${canary}`,
    maxRetries: 0,
  });
  return {
    chat: { text: chat.text, usage: chat.usage, finish: chat.finishReason },
    streamed: { text: streamedText, usage: await streamed.usage },
    tools: {
      finish: tools.finishReason,
      calls: tools.toolCalls.map((c) => ({ name: c.toolName, input: c.input })),
    },
    embed: { dims: embedded.embedding.length, tokens: embedded.usage.tokens },
  };
}

async function main() {
  const result = { openai: await openaiChecks(), ai: await aiSdkChecks() };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((err: unknown) => {
  // The stack of a failed check: test code, no request content from a user.
  process.stderr.write(`breadth checks failed: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});
