/** k0rdent AI as the server sees it: one value, listed once in providers/clouds.ts. */
import { running, type CloudModule } from '../cloud.js';
import { K0RDENT_CAPABILITIES, K0rdentProvider } from './adapter.js';
import { parseError } from './map.js';

const TOKEN = 'K0RDENT_TOKEN';
const REGION = 'K0RDENT_REGION';
const PROJECT = 'K0RDENT_PROJECT';
const ZONE = 'K0RDENT_ZONE';
const SSH_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDemoKeyForTheEmulatorOnly0000000000000000 demo@compute-mcp';

export { parseError };

export const k0rdent: CloudModule = {
  id: 'k0rdent',
  name: 'k0rdent AI',
  credentials: [TOKEN],
  settings: [REGION, PROJECT, ZONE],
  defaultBaseUrl: 'https://api.k0rdent.ai',
  capabilities: K0RDENT_CAPABILITIES,
  parseError,
  // Source: seed 001 — "Authorization: Bearer <token>" (OAuth2/OIDC tokens). ASSUMPTION (providers.md §2.1): an API
  // key (`key_…`) is presented the same way.
  auth: (env) => ({ headers: { authorization: `Bearer ${env[TOKEN]}` }, secrets: [env[TOKEN]!] }),
  adapter: ({ http, env, prices, log }) =>
    new K0rdentProvider({ http, region: env[REGION]!, project: env[PROJECT]!, zone: env[ZONE]!, prices, log }),
  emulator: async ({ pace, latencyMs, options }) => {
    // Loaded only when emulated: a server on real clouds never parses the emulator.
    const { DEMO_DELAYS, DEMO_PRICES, INSTANT, K0rdentEmulator } = await import('./emulator.js');
    const em = new K0rdentEmulator({ delays: pace === 'demo' ? DEMO_DELAYS : INSTANT, latencyMs, ...options });
    // Prices are not in k0rdent's API: the emulator's demo table, labelled `emulator` by the registry.
    return running(em, {
      env: { [TOKEN]: em.token, [REGION]: em.region, [PROJECT]: em.project, [ZONE]: em.zone },
      live: () => em.live(),
      demoPrices: { ...DEMO_PRICES },
    });
  },
  contract: {
    createRequest: (name) => ({ instance_type: 'c1-small', name, ssh_public_key: SSH_KEY }),
    unusable: [
      { from_snapshot: 'snap-1' },
      { limit_price_usd: 2 },
      { startup_script: '#!/bin/sh\necho hello' },
      { ssh_public_key: undefined }, // the key goes in through the metadata: a VM nobody can reach is refused
      { region: 'eu-west-9' }, // one configured region
    ],
    createCall: { method: 'POST', path: /^\/v1\/regions\/[^/]+\/projects\/[^/]+\/compute\/instances$/ },
    readCall: { method: 'GET', path: /^\/v1\/regions\/[^/]+\/projects\/[^/]+\/compute\/instances\/[^/]+$/ },
  },
  demo: async ({ call, human, say }) => {
    say('\n— k0rdent AI: a GPU VM with a client-chosen id, found again by its label —');
    const k = 'k0rdent';
    await call('k0rdent instance types of the zone (demo prices labelled emulator)', 'list_instance_types', {
      provider: k,
      limit: 5,
    });
    const create = {
      provider: k,
      instance_type: 'g1-xlarge',
      name: 'demo-h100',
      ssh_public_key: SSH_KEY,
      idempotency_key: 'demo-k0rdent-1',
    };
    const ask = await call('Ask to create a 1x H100 VM', 'create_vm', create);
    if (ask.status !== 'confirmation_required') throw new Error(`expected confirmation_required, got ${ask.status}`);
    human('reads the summary (1x H100, its hourly price) and says: yes.');
    const created = await call('Create it with the confirmation token', 'create_vm', {
      ...create,
      confirmation_token: ask.confirmation_token,
    });
    const id = (created.instance as { id: string } | undefined)?.id;
    if (!id) throw new Error('create failed');
    const again = await call('The same create again, same idempotency_key: no second VM', 'create_vm', create);
    if (again.status !== 'existing') throw new Error(`expected existing, got ${again.status}`);
    await call('Wait until it runs', 'wait_for_instance', { provider: k, id, status: 'running', timeout_seconds: 30 });
    await call('The way in: an SSH command, and which address was chosen', 'get_console', { provider: k, id });
    const del = await call('Delete it: a human yes again', 'delete_vm', { provider: k, id });
    human('says: yes, delete it.');
    await call('Delete with the confirmation token', 'delete_vm', {
      provider: k,
      id,
      confirmation_token: del.confirmation_token,
    });
    say('\nk0rdent AI: created once under its key, reached over SSH, deleted.');
  },
};
