/** Starts every cloud emulator on loopback (ephemeral ports) for `--emulate`, the demo and the tests. */
import { DEFAULT_TOKEN, DEMO_DELAYS, DEMO_PRICES, GenesisEmulator, INSTANT } from '../providers/genesiscloud/emulator.js';
import type { EmulatedClouds } from '../providers/index.js';

export interface EmulatorSet {
  genesiscloud: GenesisEmulator;
  clouds: EmulatedClouds;
  baseUrls: Record<string, string>;
  stop(): Promise<void>;
}

export async function startEmulators(opts: { pace?: 'instant' | 'demo'; latencyMs?: number } = {}): Promise<EmulatorSet> {
  const genesiscloud = new GenesisEmulator({ delays: opts.pace === 'demo' ? DEMO_DELAYS : INSTANT, latencyMs: opts.latencyMs });
  await genesiscloud.start();
  return {
    genesiscloud,
    clouds: { genesiscloud: { baseUrl: genesiscloud.baseUrl, token: DEFAULT_TOKEN, demoPrices: DEMO_PRICES } },
    baseUrls: { genesiscloud: genesiscloud.baseUrl },
    stop: () => genesiscloud.stop(),
  };
}
