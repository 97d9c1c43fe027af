import { MessageChannel, MessagePort, receiveMessageOnPort, Worker } from 'worker_threads';
import type { IPolicyValidationContext, PolicyValidationPluginReport } from 'aws-cdk-lib';

/**
 * A rule pack that reads only the templates, run in a worker thread: the
 * main thread hands it the templates (`ask`) and takes its report later
 * (`answer`), doing other work in between (./background-packs). The worker
 * constructs the pack from a module, an exported class and its constructor
 * arguments (plain data), and keeps one instance per set of arguments.
 *
 * Every failure comes back as an answer: a pack that threw (its error, as
 * CDK reports a pack that failed), or a worker that could not run at all
 * (`undefined`: the caller then runs the pack in its own thread).
 */

/** The pack the worker runs: `new (require(module)[exportName])(...args)`. */
export interface PackSpec {
  /** Module to load (resolved by the caller: the worker has no TypeScript loader). */
  readonly module: string;
  readonly exportName: string;
}

/** The worker's answer to one request. */
export type PackAnswer =
  { readonly report: PolicyValidationPluginReport } | { readonly error: string };

/** The longest the main thread waits for an answer before giving up on the worker. */
const ANSWER_TIMEOUT_MS = 10 * 60 * 1000;

/** The worker: plain CommonJS, so it needs no TypeScript loader. */
const WORKER_SOURCE = `
const { workerData } = require('worker_threads');
const { port, signal, spec, warm } = workerData;
const counter = new Int32Array(signal);
function reply(message) {
  port.postMessage(message);
  Atomics.add(counter, 0, 1);
  Atomics.notify(counter, 0);
}
const message = (e) => (e instanceof Error ? e.message : String(e));
process.on('uncaughtException', (e) => reply({ fatal: message(e) }));
const packs = new Map();
let Pack;
function pack(args) {
  const key = JSON.stringify(args);
  if (!packs.has(key)) packs.set(key, new Pack(...args));
  return packs.get(key);
}
let fatal;
try {
  Pack = require(spec.module)[spec.exportName];
  if (warm) {
    const p = pack(warm.args);
    if (typeof p[warm.method] === 'function') p[warm.method](...warm.methodArgs);
  }
} catch (e) {
  fatal = message(e);
}
port.on('message', ({ args, context }) => {
  if (fatal !== undefined) return reply({ fatal });
  try {
    reply({ report: pack(args).validate(context) });
  } catch (e) {
    reply({ error: message(e) });
  }
});
`;

/**
 * Work to do as soon as the worker is up, before any request: a method of
 * the pack built with `args` (which a later request with the same `args`
 * then finds done). If the method does not exist, nothing is done.
 */
export interface WarmUp {
  readonly args: unknown[];
  readonly method: string;
  readonly methodArgs: unknown[];
}

/** The templates' paths and environments: what a template-only pack reads. */
function templatesOf(context: IPolicyValidationContext) {
  return {
    templatePaths: context.templatePaths,
    stackTemplates: context.stackTemplates,
    accountId: context.accountId,
    region: context.region,
  };
}

export class PackWorker {
  private worker?: Worker;
  private port?: MessagePort;
  private signal?: Int32Array;
  /** Requests sent and not yet answered, in order. */
  private readonly asked: string[] = [];

  constructor(private readonly spec: PackSpec) {}

  /** Whether the worker is running (start() succeeded and stop() was not called). */
  public get running(): boolean {
    return this.port !== undefined;
  }

  /** Starts the worker (once), optionally with work to do before any request. */
  public start(warm?: WarmUp): void {
    if (this.worker) return;
    try {
      const { port1, port2 } = new MessageChannel();
      const signal = new SharedArrayBuffer(4);
      const worker = new Worker(WORKER_SOURCE, {
        eval: true,
        // Plain JavaScript: no TypeScript loader (tsx, ts-jest) in the worker.
        execArgv: [],
        workerData: { port: port2, signal, spec: this.spec, warm },
        transferList: [port2],
      });
      worker.unref();
      // Failures reach the main thread as answers; the event is only for Node.
      worker.on('error', () => undefined);
      this.worker = worker;
      this.port = port1;
      this.signal = new Int32Array(signal);
    } catch {
      this.stop();
    }
  }

  /** Hands the worker the templates to check with the pack built from `args`. */
  public ask(args: unknown[], context: IPolicyValidationContext): void {
    if (!this.port) return;
    const request = { args, context: templatesOf(context) };
    this.port.postMessage(request);
    this.asked.push(JSON.stringify(request));
  }

  /**
   * The worker's answer for these arguments and templates (asked now if the
   * last request was not this one), waiting for it; undefined when there is
   * no worker or it could not run.
   */
  public answer(args: unknown[], context: IPolicyValidationContext): PackAnswer | undefined {
    const request = JSON.stringify({ args, context: templatesOf(context) });
    if (this.asked[this.asked.length - 1] !== request) this.ask(args, context);
    const { port, signal } = this;
    if (!port || !signal) return undefined;
    const deadline = Date.now() + ANSWER_TIMEOUT_MS;
    while (Date.now() < deadline) {
      const seen = Atomics.load(signal, 0);
      const received = receiveMessageOnPort(port);
      if (!received) {
        Atomics.wait(signal, 0, seen, 1000);
        continue;
      }
      this.asked.shift();
      const message = received.message as PackAnswer | { fatal: string };
      if ('fatal' in message) break;
      // Answers come in the order asked: only the last request's counts.
      if (this.asked.length === 0) return message;
    }
    this.stop();
    return undefined;
  }

  /** Ends the worker. */
  public stop(): void {
    void this.worker?.terminate();
    this.port?.close();
    this.worker = undefined;
    this.port = undefined;
    this.signal = undefined;
    this.asked.length = 0;
  }
}

/** The report of an answer, or the pack's error thrown as CDK expects from a failed pack. */
export function reportOf(answer: PackAnswer): PolicyValidationPluginReport {
  if ('report' in answer) return answer.report;
  throw new Error(answer.error);
}
