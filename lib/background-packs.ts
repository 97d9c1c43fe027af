import type {
  App,
  IPolicyValidationContext,
  IPolicyValidationPlugin,
  PolicyValidationPluginReport,
} from 'aws-cdk-lib';
import { Validations } from 'aws-cdk-lib';

/**
 * Rule packs that work in the background, beside the main thread, while it
 * synthesizes the app and runs the other packs (CDK runs packs one after the
 * other). Such a pack reads only the synthesized templates, so it can:
 *
 * - `start(app)`: prepare, just before `app.synth()` (the tree is complete,
 *   the templates not yet written);
 * - `begin(context)`: start checking the templates as soon as they are
 *   written, when CDK invokes the first pack of the app;
 * - `validate(context)`: give its verdict when CDK invokes it, waiting for
 *   the background work if it is not done;
 * - `stop()`: end the background work, after synth whatever happened.
 *
 * `synthWithCompliance` (lib/app.ts) calls `start` and `stop`; a pack that
 * registers here is begun by a pack registered before every other one, which
 * reports nothing (CDK leaves a pack with nothing to report out of the
 * validation report). Without `start`, the pack's `validate` does its work
 * there and then.
 */
export interface BackgroundPack extends IPolicyValidationPlugin {
  start(app: App): void;
  begin(context: IPolicyValidationContext): void;
  stop(): void;
}

/** Whether a pack can work in the background. */
export function isBackgroundPack(pack: IPolicyValidationPlugin): pack is BackgroundPack {
  const p = pack as Partial<BackgroundPack>;
  return (
    typeof p.start === 'function' && typeof p.begin === 'function' && typeof p.stop === 'function'
  );
}

/** Name of the pack that begins the others; never in a report. */
export const BACKGROUND_START_PACK = 'ephemera-background-start';

const packsOf = new WeakMap<App, BackgroundPack[]>();

/**
 * Registers `pack` to work in the background when `app` is synthesized by
 * `withBackgroundPacks`. Call it before any pack is added to the app (the
 * first call adds the pack that begins them); the pack itself is added to
 * the app's validation plugins by the caller, where its report should be.
 */
export function registerBackgroundPack(app: App, pack: BackgroundPack): void {
  const packs = packsOf.get(app);
  if (packs) {
    packs.push(pack);
    return;
  }
  const list = [pack];
  packsOf.set(app, list);
  Validations.of(app).addPlugins({
    name: BACKGROUND_START_PACK,
    validate(context: IPolicyValidationContext): PolicyValidationPluginReport {
      list.forEach((p) => p.begin(context));
      return { success: true, violations: [] };
    },
  });
}

/** Runs `synth` with the app's background packs started before and stopped after. */
export function withBackgroundPacks<T>(app: App, synth: () => T): T {
  const packs = packsOf.get(app) ?? [];
  try {
    packs.forEach((p) => p.start(app));
    return synth();
  } finally {
    packs.forEach((p) => p.stop());
  }
}
