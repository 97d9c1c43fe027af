/**
 * Amazon Bedrock as the upstream: chat through the Converse API, images through
 * InvokeModel with the Amazon Nova Canvas / Titan Image Generator v2 request
 * shape (`taskType: TEXT_IMAGE`).
 *
 * The translators are pure functions, tested on their own. Differences from
 * OpenAI's API that a client can see:
 * - `temperature` above 1 and `n` above 1 are refused (Converse takes 0-1 and one
 *   choice); `response_format` other than text is refused.
 * - `seed`, `presence_penalty` and `frequency_penalty` have no Converse
 *   equivalent: they are recorded but not forwarded.
 * - System and developer messages become Converse's `system` blocks, in order;
 *   tool results become `toolResult` blocks in a user turn; consecutive turns of
 *   the same role are merged, as Converse requires alternating roles.
 * - `tool_choice: "none"` leaves the tools out, unless the history already holds
 *   tool calls or results (Converse then needs them), in which case the model may
 *   still call one.
 * - Image `style` has no equivalent and is not forwarded; `quality` `hd`/`high`
 *   map to `premium`, everything else to `standard`.
 *
 * `stream: true` goes through ConverseStream: each of its events is translated
 * and passed on as it arrives (nothing of the answer is kept), the usage last,
 * after the finish reason. Reasoning content is not passed on. A tool call with
 * no input streamed gets `{}` as its arguments, as Converse gives it whole.
 */

import {
  ConverseCommand,
  ConverseStreamCommand,
  InvokeModelCommand,
  type BedrockRuntimeClient,
  type ContentBlock,
  type ConverseCommandInput,
  type ConverseCommandOutput,
  type ConverseStreamOutput,
  type Message,
  type SystemContentBlock,
  type Tool,
  type ToolChoice as BedrockToolChoice,
  type ToolInputSchema,
} from '@aws-sdk/client-bedrock-runtime';
import { titanEmbeddings } from './bedrock-embeddings';
import type { ChatStreamEvent, ChoiceDelta } from './upstream-results';
import type { ModelConfig } from './config';
import { invalidRequest } from '../shared/http-errors';
import { decodeBase64Image } from './image-format';
import { isTimeout, UpstreamError, type Upstream, type UpstreamFailure } from './upstream-contract';
import {
  type ChatResult,
  type EmbeddingResult,
  type FinishReason,
  type ImageResult,
} from './upstream-results';
import type { ChatMessage, ChatRequest, ToolCall } from './validate-chat';
import type { EmbeddingRequest } from './validate-embeddings';
import type { ImageRequest } from './validate-images';

/** Nova Canvas limits (Titan v2 is stricter on sizes; it answers ValidationException, i.e. 400). */
export const BEDROCK_IMAGE_LIMITS = {
  maxPromptLength: 1024,
  maxImages: 5,
  maxSeed: 858_993_459,
  minSide: 320,
  maxSide: 4096,
  maxPixels: 4_194_304,
} as const;

const DATA_URL = /^data:image\/(png|jpeg|jpg|gif|webp);base64,([A-Za-z0-9+/]+={0,2})$/;

/** Checks and translates a chat request to Converse input. Throws a 400 `HttpError` if Bedrock cannot honour it. */
export function toConverseInput(request: ChatRequest, modelId: string): ConverseCommandInput {
  refuseUnsupported(request);

  const system: SystemContentBlock[] = [];
  const messages: Message[] = [];
  let historyHasTools = false;
  const push = (role: 'user' | 'assistant', blocks: ContentBlock[]) => {
    if (blocks.length === 0) return;
    const last = messages[messages.length - 1];
    if (last && last.role === role) last.content = [...(last.content ?? []), ...blocks];
    else messages.push({ role, content: blocks });
  };

  request.messages.forEach((m: ChatMessage, i) => {
    switch (m.role) {
      case 'system':
        if (m.text !== '') system.push({ text: m.text });
        return;
      case 'user':
        push(
          'user',
          m.parts.map((part, j): ContentBlock => {
            if (part.type === 'text') return { text: part.text };
            const match = DATA_URL.exec(part.url);
            if (!match) {
              throw invalidRequest(
                `messages[${i}].content[${j}].image_url.url must be a base64 data:image/ URL with this upstream`,
              );
            }
            const format =
              match[1] === 'jpg' ? 'jpeg' : (match[1] as 'png' | 'jpeg' | 'gif' | 'webp');
            return { image: { format, source: { bytes: Buffer.from(match[2], 'base64') } } };
          }),
        );
        return;
      case 'assistant': {
        const blocks: ContentBlock[] = [];
        if (m.text) blocks.push({ text: m.text });
        m.toolCalls.forEach((call, k) => {
          historyHasTools = true;
          blocks.push({
            toolUse: { toolUseId: call.id, name: call.name, input: parseArguments(call, i, k) },
          });
        });
        push('assistant', blocks);
        return;
      }
      case 'tool':
        historyHasTools = true;
        push('user', [{ toolResult: { toolUseId: m.toolCallId, content: [{ text: m.text }] } }]);
        return;
    }
  });

  const inferenceConfig = {
    ...(request.maxTokens !== undefined ? { maxTokens: request.maxTokens } : {}),
    ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
    ...(request.topP !== undefined ? { topP: request.topP } : {}),
    ...(request.stop.length > 0 ? { stopSequences: [...request.stop] } : {}),
  };

  const input: ConverseCommandInput = { modelId, messages };
  if (system.length > 0) input.system = system;
  if (Object.keys(inferenceConfig).length > 0) input.inferenceConfig = inferenceConfig;

  const wantTools = request.tools.length > 0 && (request.toolChoice !== 'none' || historyHasTools);
  if (wantTools) {
    const tools: Tool[] = request.tools.map((t): Tool.ToolSpecMember => ({
      toolSpec: {
        name: t.name,
        ...(t.description !== undefined ? { description: t.description } : {}),
        inputSchema: {
          json: (t.parameters ?? { type: 'object', properties: {} }) as ToolInput,
        } as ToolInputSchema.JsonMember,
      },
    }));
    const choice = toolChoice(request.toolChoice);
    input.toolConfig = choice ? { tools, toolChoice: choice } : { tools };
  }
  return input;
}

/**
 * A 400 naming the first field that Converse cannot honour, rather than a
 * 200 that quietly ignores it (a strict schema, say, would stop being
 * enforced).
 */
function refuseUnsupported(request: ChatRequest): void {
  const refuse = (param: string, rule: string): never => {
    throw invalidRequest(`${param} ${rule} with this upstream`, param);
  };
  if (request.n > 1) refuse('n', 'must be 1');
  if (request.temperature !== undefined && request.temperature > 1) {
    refuse('temperature', 'must be from 0 to 1');
  }
  if (request.responseFormat && request.responseFormat.type !== 'text') {
    refuse('response_format', 'must be {"type":"text"}');
  }
  request.tools.forEach((tool, i) => {
    if (tool.strict === true) {
      refuse(`tools[${i}].function.strict`, 'is not supported (Bedrock does not enforce schemas)');
    }
  });
  if (request.parallelToolCalls === false) {
    refuse('parallel_tool_calls', 'cannot be false (Bedrock cannot limit a turn to one tool call)');
  }
  if (request.logprobs === true) refuse('logprobs', 'is not supported');
  if (request.topLogprobs !== undefined) refuse('top_logprobs', 'is not supported');
  if (request.reasoningEffort !== undefined) refuse('reasoning_effort', 'is not supported');
}

function toolChoice(choice: ChatRequest['toolChoice']): BedrockToolChoice | undefined {
  if (choice === undefined || choice === 'none') return undefined;
  if (choice === 'auto') return { auto: {} };
  if (choice === 'required') return { any: {} };
  return { tool: { name: choice.name } };
}

type ToolInput = ContentBlock.ToolUseMember['toolUse']['input'];

function parseArguments(call: ToolCall, i: number, k: number): ToolInput {
  const what = `messages[${i}].tool_calls[${k}].function.arguments must be a JSON object with this upstream`;
  let parsed: unknown;
  try {
    parsed = call.arguments.trim() === '' ? {} : JSON.parse(call.arguments);
  } catch {
    throw invalidRequest(what);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw invalidRequest(what);
  return parsed as ToolInput;
}

const STOP_REASONS: Readonly<Record<string, FinishReason>> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  max_tokens: 'length',
  model_context_window_exceeded: 'length',
  tool_use: 'tool_calls',
  content_filtered: 'content_filter',
  guardrail_intervened: 'content_filter',
};

/** Maps Converse's stop reason to OpenAI's finish reason (unknown reasons are `stop`). */
export function finishReason(stopReason: string | undefined): FinishReason {
  return (stopReason && STOP_REASONS[stopReason]) || 'stop';
}

/** Translates Converse output to the gateway's chat result. */
export function fromConverseOutput(
  output: Pick<ConverseCommandOutput, 'output' | 'stopReason' | 'usage'>,
): ChatResult {
  const content = output.output?.message?.content;
  if (!Array.isArray(content)) throw new UpstreamError('failed');
  let text = '';
  let hasText = false;
  const toolCalls: ToolCall[] = [];
  for (const block of content) {
    if (typeof block.text === 'string') {
      text += block.text;
      hasText = true;
    } else if (block.toolUse) {
      const { toolUseId, name, input } = block.toolUse;
      if (typeof toolUseId !== 'string' || typeof name !== 'string')
        throw new UpstreamError('failed');
      toolCalls.push({ id: toolUseId, name, arguments: JSON.stringify(input ?? {}) });
    }
  }
  return {
    choices: [
      {
        text: hasText ? text : toolCalls.length > 0 ? null : '',
        toolCalls,
        finishReason: finishReason(output.stopReason),
      },
    ],
    inputTokens: tokenCount(output.usage?.inputTokens),
    outputTokens: tokenCount(output.usage?.outputTokens),
  };
}

const tokenCount = (v: unknown): number =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : 0;

/**
 * What the stream translator remembers between events: where it is, which
 * tool calls are open and the usage. Never any content.
 */
export interface ConverseStreamState {
  started: boolean;
  stopped: boolean;
  /** The index the next tool call gets (tool calls count from 0, whatever their content block). */
  nextToolCall: number;
  /** Content block index → the tool call open in it, and whether any input has come for it. */
  readonly openToolCalls: Map<number, { readonly index: number; hasInput: boolean }>;
  inputTokens: number;
  outputTokens: number;
}

export function converseStreamState(): ConverseStreamState {
  return {
    started: false,
    stopped: false,
    nextToolCall: 0,
    openToolCalls: new Map(),
    inputTokens: 0,
    outputTokens: 0,
  };
}

/** The exception members a ConverseStream event may carry, and what each means. */
const STREAM_EXCEPTIONS: Readonly<Record<string, UpstreamFailure>> = {
  internalServerException: 'failed',
  modelStreamErrorException: 'failed',
  serviceUnavailableException: 'failed',
  throttlingException: 'throttled',
  validationException: 'rejected',
};

const ROLE_DELTA: ChoiceDelta = { index: 0, role: 'assistant', content: '' };

const blockIndex = (v: unknown): number => {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new UpstreamError('failed');
  return v;
};

/** The events one piece of the answer makes: the role first if `messageStart` was missed. */
function choiceEvents(
  state: ConverseStreamState,
  delta: Omit<ChoiceDelta, 'index'>,
): ChatStreamEvent[] {
  if (state.stopped) throw new UpstreamError('failed');
  const events: ChatStreamEvent[] = [];
  if (!state.started) {
    state.started = true;
    events.push({ type: 'choice', delta: ROLE_DELTA });
  }
  events.push({ type: 'choice', delta: { index: 0, ...delta } });
  return events;
}

/** Closes the tool call open in a content block; one that got no input gets `{}`. */
function closeToolCall(state: ConverseStreamState, block: number): ChatStreamEvent[] {
  const open = state.openToolCalls.get(block);
  if (!open) return [];
  state.openToolCalls.delete(block);
  return open.hasInput
    ? []
    : choiceEvents(state, { toolCalls: [{ index: open.index, arguments: '{}' }] });
}

/**
 * Translates one ConverseStream event to the gateway's stream events,
 * updating `state`. The usage is kept in `state` and given by
 * {@link endConverseStream}, so that it comes last. An exception member
 * throws its {@link UpstreamError} (by the member's name; its message is never
 * read); so does a broken sequence (a tool input piece outside a tool call,
 * anything after `messageStop` but metadata). Reasoning content and unknown
 * events give nothing.
 */
export function fromConverseStreamEvent(
  event: ConverseStreamOutput,
  state: ConverseStreamState,
): ChatStreamEvent[] {
  if (typeof event !== 'object' || event === null) return [];
  const members = event as unknown as Record<string, unknown>;
  for (const [member, failure] of Object.entries(STREAM_EXCEPTIONS)) {
    if (members[member] !== undefined) throw new UpstreamError(failure);
  }
  if (event.messageStart) {
    if (state.stopped) throw new UpstreamError('failed');
    if (state.started) return [];
    state.started = true;
    return [{ type: 'choice', delta: ROLE_DELTA }];
  }
  if (event.contentBlockStart) {
    const toolUse = event.contentBlockStart.start?.toolUse;
    if (!toolUse) return [];
    const { toolUseId, name } = toolUse;
    const block = blockIndex(event.contentBlockStart.contentBlockIndex);
    if (typeof toolUseId !== 'string' || typeof name !== 'string') {
      throw new UpstreamError('failed');
    }
    if (state.openToolCalls.has(block)) throw new UpstreamError('failed');
    const index = state.nextToolCall++;
    state.openToolCalls.set(block, { index, hasInput: false });
    return choiceEvents(state, { toolCalls: [{ index, id: toolUseId, name, arguments: '' }] });
  }
  if (event.contentBlockDelta) {
    const delta = event.contentBlockDelta.delta;
    if (typeof delta?.text === 'string') {
      return delta.text === '' ? [] : choiceEvents(state, { content: delta.text });
    }
    if (delta?.toolUse) {
      const open = state.openToolCalls.get(blockIndex(event.contentBlockDelta.contentBlockIndex));
      const input: unknown = delta.toolUse.input;
      if (!open || (input !== undefined && typeof input !== 'string')) {
        throw new UpstreamError('failed');
      }
      if (!input) return [];
      open.hasInput = true;
      return choiceEvents(state, { toolCalls: [{ index: open.index, arguments: input }] });
    }
    return [];
  }
  if (event.contentBlockStop) {
    const block = event.contentBlockStop.contentBlockIndex;
    return typeof block === 'number' ? closeToolCall(state, block) : [];
  }
  if (event.messageStop) {
    const events = [...state.openToolCalls.keys()].flatMap((block) => closeToolCall(state, block));
    events.push(
      ...choiceEvents(state, { finishReason: finishReason(event.messageStop.stopReason) }),
    );
    state.stopped = true;
    return events;
  }
  if (event.metadata) {
    state.inputTokens = tokenCount(event.metadata.usage?.inputTokens);
    state.outputTokens = tokenCount(event.metadata.usage?.outputTokens);
    return [];
  }
  return [];
}

/** The last event of a stream: its usage (zeros if none came). A stream without `messageStop` was cut off. */
export function endConverseStream(state: ConverseStreamState): ChatStreamEvent {
  if (!state.stopped) throw new UpstreamError('failed');
  return { type: 'usage', inputTokens: state.inputTokens, outputTokens: state.outputTokens };
}

/**
 * A ConverseStream answer as the gateway's stream events, each passed on as
 * it arrives. Ending the iteration early ends the iteration of `stream`.
 */
export async function* fromConverseStream(
  stream: AsyncIterable<ConverseStreamOutput>,
): AsyncGenerator<ChatStreamEvent> {
  const state = converseStreamState();
  for await (const event of stream) yield* fromConverseStreamEvent(event, state);
  yield endConverseStream(state);
}

/** Checks and translates an image request to a Nova Canvas / Titan v2 body. */
export function toImageBody(request: ImageRequest): Record<string, unknown> {
  const L = BEDROCK_IMAGE_LIMITS;
  if (request.prompt.length > L.maxPromptLength) {
    throw invalidRequest(
      `prompt must be at most ${L.maxPromptLength} characters with this upstream`,
    );
  }
  if (request.n > L.maxImages)
    throw invalidRequest(`n must be at most ${L.maxImages} with this upstream`);
  const { width, height } = request;
  const side = (v: number) => v >= L.minSide && v <= L.maxSide && v % 16 === 0;
  if (
    !side(width) ||
    !side(height) ||
    width * height > L.maxPixels ||
    width > 4 * height ||
    height > 4 * width
  ) {
    throw invalidRequest(
      `size must have sides from ${L.minSide} to ${L.maxSide} divisible by 16, at most ${L.maxPixels} pixels and an aspect ratio within 1:4 with this upstream`,
    );
  }
  if (request.seed !== undefined && request.seed > L.maxSeed) {
    throw invalidRequest(`seed must be from 0 to ${L.maxSeed} with this upstream`);
  }
  return {
    taskType: 'TEXT_IMAGE',
    textToImageParams: { text: request.prompt },
    imageGenerationConfig: {
      numberOfImages: request.n,
      width,
      height,
      quality: request.quality === 'hd' || request.quality === 'high' ? 'premium' : 'standard',
      ...(request.seed !== undefined ? { seed: request.seed } : {}),
    },
  };
}

/** Reads a Nova Canvas / Titan v2 response body; an `error` field or any other shape is a failure. */
export function fromImageBody(body: Uint8Array | undefined, expected: number): ImageResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(body ?? new Uint8Array()).toString('utf8'));
  } catch {
    throw new UpstreamError('failed');
  }
  const p = parsed as { images?: unknown; error?: unknown };
  if (
    typeof parsed !== 'object' ||
    parsed === null ||
    (p.error !== undefined && p.error !== null && p.error !== '')
  ) {
    throw new UpstreamError('failed');
  }
  if (!Array.isArray(p.images) || p.images.length === 0 || p.images.length > expected) {
    throw new UpstreamError('failed');
  }
  const images = p.images.map((b64) => {
    const bytes = decodeBase64Image(b64);
    if (!bytes) throw new UpstreamError('failed');
    return bytes;
  });
  return { images };
}

const THROTTLED = new Set([
  'ThrottlingException',
  'ServiceQuotaExceededException',
  'TooManyRequestsException',
]);
const TIMEOUT = new Set(['ModelTimeoutException']);
const REJECTED = new Set(['ValidationException']);
const NO_MODEL = new Set(['ResourceNotFoundException']);

/**
 * How Bedrock's validation messages say that the input is over the model's
 * context. The message is only tested against this pattern, never kept or
 * passed on (it may quote the prompt).
 */
const CONTEXT_EXCEEDED = /too long|too many (?:input )?tokens|context (?:length|window)/i;

/** Maps an SDK error to an {@link UpstreamError} by its name only (its message may quote the prompt). */
export function bedrockFailure(err: unknown, signal: AbortSignal): UpstreamError {
  if (err instanceof UpstreamError) return err;
  if (isTimeout(err, signal)) return new UpstreamError('timeout');
  const name =
    typeof err === 'object' && err !== null ? (err as { name?: unknown }).name : undefined;
  if (typeof name === 'string') {
    if (THROTTLED.has(name)) return new UpstreamError('throttled');
    if (TIMEOUT.has(name)) return new UpstreamError('timeout');
    if (NO_MODEL.has(name)) return new UpstreamError('no_model');
    if (REJECTED.has(name)) {
      const message = (err as { message?: unknown }).message;
      const tooLong = typeof message === 'string' && CONTEXT_EXCEEDED.test(message);
      return new UpstreamError(tooLong ? 'too_long' : 'rejected');
    }
  }
  return new UpstreamError('failed');
}

export class BedrockUpstream implements Upstream {
  readonly kind = 'bedrock' as const;

  constructor(private readonly client: BedrockRuntimeClient) {}

  async chat(request: ChatRequest, model: ModelConfig, signal: AbortSignal): Promise<ChatResult> {
    const input = toConverseInput(request, model.upstreamId);
    let output: ConverseCommandOutput;
    try {
      output = await this.client.send(new ConverseCommand(input), { abortSignal: signal });
    } catch (err) {
      throw bedrockFailure(err, signal);
    }
    return fromConverseOutput(output);
  }

  /**
   * Streams a chat completion through ConverseStream. A request Bedrock cannot
   * honour is refused (400) by the first `next()`, before any call. Every
   * failure, at the call or under way, is mapped by {@link bedrockFailure};
   * an aborted `signal` stops the reading (a timeout), and so does ending the
   * iteration early, which ends the iteration of the SDK's stream.
   */
  async *chatStream(
    request: ChatRequest,
    model: ModelConfig,
    signal: AbortSignal,
  ): AsyncGenerator<ChatStreamEvent> {
    const input = toConverseInput(request, model.upstreamId);
    try {
      const output = await this.client.send(new ConverseStreamCommand(input), {
        abortSignal: signal,
      });
      if (!output.stream) throw new UpstreamError('failed');
      for await (const event of fromConverseStream(output.stream)) {
        if (signal.aborted) throw new UpstreamError('timeout');
        yield event;
      }
    } catch (err) {
      throw bedrockFailure(err, signal);
    }
  }

  async images(
    request: ImageRequest,
    model: ModelConfig,
    signal: AbortSignal,
  ): Promise<ImageResult> {
    const body = JSON.stringify(toImageBody(request));
    let out: Uint8Array | undefined;
    try {
      const res = await this.client.send(
        new InvokeModelCommand({
          modelId: model.upstreamId,
          contentType: 'application/json',
          accept: 'application/json',
          body,
        }),
        { abortSignal: signal },
      );
      out = res.body;
    } catch (err) {
      throw bedrockFailure(err, signal);
    }
    return fromImageBody(out, request.n);
  }

  /**
   * Titan Text Embeddings V2, one call per input (`./bedrock-embeddings`);
   * the configuration admits no other Bedrock embedding model.
   */
  async embeddings(
    request: EmbeddingRequest,
    model: ModelConfig,
    signal: AbortSignal,
  ): Promise<EmbeddingResult> {
    return titanEmbeddings(this.client, request, model.upstreamId, signal, bedrockFailure);
  }

  /** Bedrock serves every configured model (access is granted by IAM); no call needed. */
}
