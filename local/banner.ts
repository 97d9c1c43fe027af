/**
 * What local mode prints when it is ready: where it listens, what answers,
 * the `export EPHEMERA_...=` lines (shell commands, one per line: paste them,
 * or `eval` them from a log with `grep '^export '`), and examples to paste.
 * Keys appear only on the start that created them: they are stored as keyed
 * hashes and cannot be shown again.
 */

import type { LocalMode } from './local-mode';

/** Quotes a value for a POSIX shell. */
const sh = (s: string) => `'${s.split("'").join(`'\\''`)}'`;

/** A value as one shell word: as it is when nothing in it is special to the shell, else quoted. */
const word = (s: string) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : sh(s));

/** `export NAME=value`, ready for a POSIX shell. */
const exportLine = (name: string, value: string) => `export ${name}=${word(value)}`;

/** `note`: a line about the Node version (bin/node-support.ts), printed before the last line. */
export function banner(mode: LocalMode, note?: string): string {
  const chat = mode.models.find((m) => m.kind === 'chat')?.id;
  const image = mode.models.find((m) => m.kind === 'image')?.id;
  const embedding = mode.models.find((m) => m.kind === 'embedding')?.id;
  const lines: string[] = [];
  lines.push(`Ephemera local mode on ${mode.url} (TLS 1.2 minimum, 1.3 preferred)`);
  lines.push(
    mode.demo
      ? 'Upstream: the built-in DEMO MODEL. It is not a real model: it answers every prompt with fixed sentences, word by word. Set EPHEMERA_UPSTREAM_URL to use a model server (Ollama, vLLM, llama.cpp).'
      : `Upstream: ${mode.upstreamOrigin}${mode.upstreamWarning ? `: ${mode.upstreamWarning}` : ''}`,
  );
  lines.push(`Models: ${mode.models.map((m) => `${m.id} (${m.kind})`).join(', ')}`);
  lines.push(
    mode.dataDir
      ? `Data: ${mode.dataDir} (kept between starts; delete the folder to start over)`
      : 'Data: in memory, gone when local mode stops',
  );
  lines.push(`Images asked for by URL are kept ${mode.imageTtlSeconds} s, then swept.`);
  lines.push('');
  lines.push(exportLine('EPHEMERA_URL', mode.url));
  lines.push(exportLine('EPHEMERA_CA_CERT', mode.caCertPath));
  lines.push(exportLine('EPHEMERA_RECEIPT_KEY', mode.receiptKeyPath));
  if (mode.adminKey && mode.inferenceKey) {
    lines.push(exportLine('EPHEMERA_ADMIN_KEY', mode.adminKey));
    lines.push(exportLine('EPHEMERA_INFERENCE_KEY', mode.inferenceKey));
    lines.push('');
    lines.push(
      'These keys are shown this once. Run the export lines above in your shell, then try:',
    );
  } else {
    lines.push('');
    lines.push(
      'The admin and inference keys were printed on the first start and are not shown again.',
    );
    lines.push(
      'With EPHEMERA_ADMIN_KEY set, a new inference key: curl --cacert "$EPHEMERA_CA_CERT" -X POST "$EPHEMERA_URL/v1/keys" -H "Authorization: Bearer $EPHEMERA_ADMIN_KEY" -H "Content-Type: application/json" -d \'{"name":"me","scopes":["inference"]}\'',
    );
    lines.push(
      'Run the export lines above in your shell, export EPHEMERA_ADMIN_KEY and EPHEMERA_INFERENCE_KEY with your keys, then try:',
    );
  }
  const curl = (key: string) =>
    `curl --cacert "$EPHEMERA_CA_CERT" -H "Authorization: Bearer $${key}" -H "Content-Type: application/json"`;
  if (chat) {
    const messages = '"messages":[{"role":"user","content":"Hello"}]';
    lines.push('');
    lines.push('# a chat completion');
    lines.push(
      `${curl('EPHEMERA_INFERENCE_KEY')} "$EPHEMERA_URL/v1/chat/completions" -d ${sh(`{"model":"${chat}",${messages}}`)}`,
    );
    lines.push('# the same, streamed');
    lines.push(
      `${curl('EPHEMERA_INFERENCE_KEY')} -N "$EPHEMERA_URL/v1/chat/completions" -d ${sh(`{"model":"${chat}",${messages},"stream":true}`)}`,
    );
  }
  if (image) {
    lines.push('# an image, kept for the TTL and returned as a presigned URL');
    lines.push(
      `${curl('EPHEMERA_INFERENCE_KEY')} "$EPHEMERA_URL/v1/images/generations" -d ${sh(`{"model":"${image}","prompt":"a lighthouse at dusk","response_format":"url"}`)}`,
    );
  }
  if (embedding) {
    lines.push('# embeddings of two texts');
    lines.push(
      `${curl('EPHEMERA_INFERENCE_KEY')} "$EPHEMERA_URL/v1/embeddings" -d ${sh(`{"model":"${embedding}","input":["a lighthouse","a harbour"]}`)}`,
    );
  }
  lines.push(
    '# erase everything tagged with a customer id; then GET the returned deletion, and check its receipt with $EPHEMERA_RECEIPT_KEY (docs/local-mode.md)',
  );
  lines.push(
    `${curl('EPHEMERA_ADMIN_KEY')} -X DELETE "$EPHEMERA_URL/v1/user_data" -H "X-Ephemera-Metadata: customer_id=alice"`,
  );
  if (chat) {
    lines.push('');
    lines.push('# the official openai client (npm install openai), in Node:');
    lines.push(
      `NODE_EXTRA_CA_CERTS="$EPHEMERA_CA_CERT" node --input-type=module -e ${sh(
        [
          'import OpenAI from "openai";',
          'const client = new OpenAI({ baseURL: process.env.EPHEMERA_URL + "/v1", apiKey: process.env.EPHEMERA_INFERENCE_KEY });',
          `const answer = await client.chat.completions.create({ model: "${chat}", messages: [{ role: "user", content: "Hello" }] });`,
          'console.log(answer.choices[0].message.content);', // leak-ok: example code the banner prints, not a log call
        ].join('\n'),
      )}`,
    );
  }
  lines.push('');
  if (note) lines.push(note);
  lines.push('Ctrl-C stops local mode.');
  return lines.join('\n') + '\n';
}
