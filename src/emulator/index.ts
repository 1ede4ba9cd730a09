/** Starts every built cloud's emulator on loopback (ephemeral ports) for `--emulate`, the demo and the tests. */
import type { RunningEmulator } from '../providers/cloud.js';
import { BUILT_CLOUDS } from '../providers/clouds.js';
import type { EmulatedClouds } from '../providers/index.js';

export interface EmulatorSet {
  /** Each cloud's running emulator, by cloud id. */
  byCloud: Record<string, RunningEmulator>;
  clouds: EmulatedClouds;
  baseUrls: Record<string, string>;
  stop(): Promise<void>;
}

export async function startEmulators(
  opts: { pace?: 'instant' | 'demo'; latencyMs?: number } = {},
): Promise<EmulatorSet> {
  const running = await Promise.all(
    BUILT_CLOUDS.map(
      async (c) => [c.id, await c.emulator({ pace: opts.pace ?? 'instant', latencyMs: opts.latencyMs })] as const,
    ),
  );
  const byCloud = Object.fromEntries(running);
  return {
    byCloud,
    clouds: Object.fromEntries(
      running.map(([id, e]) => [
        id,
        { baseUrl: e.baseUrl, env: e.env, ...(e.demoPrices ? { demoPrices: e.demoPrices } : {}) },
      ]),
    ),
    baseUrls: Object.fromEntries(running.map(([id, e]) => [id, e.baseUrl])),
    stop: async () => {
      await Promise.all(running.map(([, e]) => e.stop()));
    },
  };
}
