import { HttpClient } from '../../src/http/client.js';
import { GenesisCloudProvider } from '../../src/providers/genesiscloud/adapter.js';
import { DEMO_PRICES, GenesisEmulator } from '../../src/providers/genesiscloud/emulator.js';
import { ErrorBody } from '../../src/providers/genesiscloud/wire.js';
import { SSH_KEY } from '../helpers/harness.js';
import { providerContract } from './contract.js';

providerContract('genesiscloud', async () => {
  const emulator = new GenesisEmulator();
  await emulator.start();
  const clients: HttpClient[] = [];
  const adapter = (token: string) => {
    const http = new HttpClient({
      provider: 'genesiscloud', baseUrl: emulator.baseUrl, headers: () => ({ authorization: `Bearer ${token}` }),
      parseError: (b) => ErrorBody.parse(b), retry: { baseDelayMs: 5, maxDelayMs: 20 },
    });
    clients.push(http);
    const prices = Object.fromEntries(Object.entries(DEMO_PRICES).map(([k, v]) => [k, { usd_per_hour: v, source: 'emulator' as const }]));
    return new GenesisCloudProvider({ http, prices });
  };
  return {
    provider: adapter(emulator.token),
    withBadCredentials: adapter('wrong-token'),
    emulator: emulator.http,
    createRequest: (name) => ({ instance_type: 'vcpu-2_memory-4g_disk-80g', name, ssh_public_key: SSH_KEY }),
    createCall: { method: 'POST', path: /^\/compute\/v1\/instances$/ },
    readCall: { method: 'GET', path: /^\/compute\/v1\/instances\/[^/]+$/ },
    liveCount: () => emulator.liveInstances().length,
    setRawStatus: (id, raw) => emulator.setStatus(id, raw),
    close: async () => {
      await Promise.all(clients.map((c) => c.close()));
      await emulator.stop();
    },
  };
});

providerContract('mithril', async () => {
  const { MithrilEmulator } = await import('../../src/providers/mithril/emulator.js');
  const { MithrilProvider } = await import('../../src/providers/mithril/adapter.js');
  const { fastApiError } = await import('../../src/providers/index.js');
  const emulator = new MithrilEmulator();
  await emulator.start();
  const clients: HttpClient[] = [];
  const adapter = (key: string) => {
    const http = new HttpClient({
      provider: 'mithril', baseUrl: emulator.baseUrl, headers: () => ({ authorization: `Bearer ${key}` }),
      parseError: fastApiError, retry: { baseDelayMs: 5, maxDelayMs: 20 },
    });
    clients.push(http);
    return new MithrilProvider({ http, project: emulator.project });
  };
  return {
    provider: adapter(emulator.key),
    withBadCredentials: adapter('fkey_wrong'),
    emulator: emulator.http,
    createRequest: (name) => ({ instance_type: 'a100-80gb.sxm.1x', name, ssh_public_key: SSH_KEY }),
    createCall: { method: 'POST', path: /^\/v2\/spot\/bids$/ },
    readCall: { method: 'GET', path: /^\/v2\/spot\/bids\/[^/]+$/ },
    liveCount: () => emulator.liveBids().length,
    setRawStatus: (id, raw) => emulator.setStatus(id, raw),
    close: async () => {
      await Promise.all(clients.map((c) => c.close()));
      await emulator.stop();
    },
  };
});
