/** Starts every cloud emulator on loopback (ephemeral ports) for `--emulate`, the demo and the tests. */
import { DEFAULT_TOKEN, DEMO_DELAYS, DEMO_PRICES, GenesisEmulator, INSTANT } from '../providers/genesiscloud/emulator.js';
import type { EmulatedClouds } from '../providers/index.js';
import { DEMO_DELAYS as MITHRIL_DEMO, INSTANT as MITHRIL_INSTANT, MithrilEmulator } from '../providers/mithril/emulator.js';

export interface EmulatorSet {
  genesiscloud: GenesisEmulator;
  mithril: MithrilEmulator;
  clouds: EmulatedClouds;
  baseUrls: Record<string, string>;
  stop(): Promise<void>;
}

export async function startEmulators(opts: { pace?: 'instant' | 'demo'; latencyMs?: number } = {}): Promise<EmulatorSet> {
  const genesiscloud = new GenesisEmulator({ delays: opts.pace === 'demo' ? DEMO_DELAYS : INSTANT, latencyMs: opts.latencyMs });
  const mithril = new MithrilEmulator({ delays: opts.pace === 'demo' ? MITHRIL_DEMO : MITHRIL_INSTANT, latencyMs: opts.latencyMs });
  await Promise.all([genesiscloud.start(), mithril.start()]);
  return {
    genesiscloud,
    mithril,
    clouds: {
      genesiscloud: { baseUrl: genesiscloud.baseUrl, token: DEFAULT_TOKEN, demoPrices: DEMO_PRICES },
      mithril: { baseUrl: mithril.baseUrl, key: mithril.key, project: mithril.project },
    },
    baseUrls: { genesiscloud: genesiscloud.baseUrl, mithril: mithril.baseUrl },
    stop: async () => {
      await Promise.all([genesiscloud.stop(), mithril.stop()]);
    },
  };
}
