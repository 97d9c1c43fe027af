/**
 * The Responses request's own field for a field of the chat request it
 * became. An upstream that cannot honour a field refuses it with a 400
 * naming the chat field (`response_format`, `tools[0].function.strict`,
 * `messages[3].tool_calls[0].function.arguments`); a Responses client sent
 * `text.format`, `tools[0].strict`, `input[4].arguments`, and is told so.
 * Messages are this code base's fixed strings that start with the field, so
 * only that start is rewritten; nothing of the request is read into them.
 */

import { HttpError } from '../../shared/http-errors';
import type { ResponsesRequest } from './validate';

/** Chat fields whose Responses field has another name. */
const RENAMED: Readonly<Record<string, string>> = {
  response_format: 'text.format',
  reasoning_effort: 'reasoning.effort',
  max_tokens: 'max_output_tokens',
  max_completion_tokens: 'max_output_tokens',
};

/** The Responses field for `param`, a chat request's field; undefined when it names none. */
export function responsesParam(param: string, request: ResponsesRequest): string | undefined {
  if (RENAMED[param] !== undefined) return RENAMED[param];
  // Log probabilities are asked for by `top_logprobs` or by `include`.
  if (param === 'logprobs')
    return request.chat.topLogprobs !== undefined ? 'top_logprobs' : 'include';
  const tool = /^tools\[(\d+)\]\.function\.(.+)$/.exec(param);
  if (tool) return `tools[${tool[1]}].${tool[2]}`;
  const message = /^messages\[(\d+)\](.*)$/.exec(param);
  if (!message) return undefined;
  const origin = request.origins[Number(message[1])];
  if (origin === undefined) return undefined;
  const rest = message[2];
  const call = /^\.tool_calls\[(\d+)\]\.function\.(arguments|name)$/.exec(rest);
  const callItem = call ? origin.calls?.[Number(call[1])] : undefined;
  if (call && callItem !== undefined) return `input[${callItem}].${call[2]}`;
  if (typeof origin.item !== 'number') return origin.item;
  const image = /^(\.content\[\d+\])\.image_url\.url$/.exec(rest);
  return image ? `input[${origin.item}]${image[1]}.image_url` : `input[${origin.item}]`;
}

/**
 * `err` with its field named as the Responses request names it, when it is
 * a 400 about a chat field that has another name there; else `err`.
 */
export function inResponsesTerms(err: unknown, request: ResponsesRequest): unknown {
  if (!(err instanceof HttpError) || err.status !== 400 || err.param === null) return err;
  const param = responsesParam(err.param, request);
  if (param === undefined || param === err.param) return err;
  const message = err.message.startsWith(`${err.param} `)
    ? `${param}${err.message.slice(err.param.length)}`
    : err.message;
  return new HttpError(err.status, err.type, message, {
    headers: err.headers,
    param,
    ...(err.code === null ? {} : { code: err.code }),
  });
}
