/**
 * The provider contract against every emulator. Adapters are built by the registry, exactly as the server builds
 * them in emulator mode (error parsers, prices, credentials); only the retry timing is shortened.
 */
import { parseConfig } from '../../src/config.js';
import { DEMO_PRICES, GenesisEmulator } from '../../src/providers/genesiscloud/emulator.js';
import { ProviderSet, type EmulatedClouds } from '../../src/providers/index.js';
import { MithrilEmulator } from '../../src/providers/mithril/emulator.js';
import type { ProviderId } from '../../src/domain/model.js';
import { SSH_KEY } from '../helpers/harness.js';
import { memoryLogger } from '../helpers/logsink.js';
import { providerContract } from './contract.js';

/** The adapter for `id` with the emulator's credentials, and again with wrong ones. */
function fromRegistry(id: ProviderId, clouds: EmulatedClouds, wrong: EmulatedClouds) {
  const make = (emulated: EmulatedClouds) =>
    new ProviderSet({ env: {}, config: parseConfig({}), log: memoryLogger().log, emulated, http: { retry: { baseDelayMs: 5, maxDelayMs: 20 } } });
  const good = make(clouds);
  const bad = make(wrong);
  return { provider: good.get(id), withBadCredentials: bad.get(id), closeClients: () => Promise.all([good.close(), bad.close()]) };
}

providerContract('genesiscloud', async () => {
  const emulator = new GenesisEmulator();
  await emulator.start();
  const cloud = { baseUrl: emulator.baseUrl, token: emulator.token, demoPrices: DEMO_PRICES };
  const { provider, withBadCredentials, closeClients } = fromRegistry('genesiscloud', { genesiscloud: cloud }, { genesiscloud: { ...cloud, token: 'wrong-token' } });
  return {
    provider,
    withBadCredentials,
    emulator: emulator.http,
    createRequest: (name) => ({ instance_type: 'vcpu-2_memory-4g_disk-80g', name, ssh_public_key: SSH_KEY }),
    createCall: { method: 'POST', path: /^\/compute\/v1\/instances$/ },
    readCall: { method: 'GET', path: /^\/compute\/v1\/instances\/[^/]+$/ },
    liveCount: () => emulator.liveInstances().length,
    setRawStatus: (id, raw) => emulator.setStatus(id, raw),
    close: async () => {
      await closeClients();
      await emulator.stop();
    },
  };
});

providerContract('mithril', async () => {
  const emulator = new MithrilEmulator();
  await emulator.start();
  const cloud = { baseUrl: emulator.baseUrl, key: emulator.key, project: emulator.project };
  const { provider, withBadCredentials, closeClients } = fromRegistry('mithril', { mithril: cloud }, { mithril: { ...cloud, key: 'fkey_wrong' } });
  return {
    provider,
    withBadCredentials,
    emulator: emulator.http,
    createRequest: (name) => ({ instance_type: 'a100-80gb.sxm.1x', name, ssh_public_key: SSH_KEY }),
    createCall: { method: 'POST', path: /^\/v2\/spot\/bids$/ },
    readCall: { method: 'GET', path: /^\/v2\/spot\/bids\/[^/]+$/ },
    liveCount: () => emulator.liveBids().length,
    setRawStatus: (id, raw) => emulator.setStatus(id, raw),
    close: async () => {
      await closeClients();
      await emulator.stop();
    },
  };
});
