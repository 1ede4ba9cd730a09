/** Genesis Cloud as the server sees it: one value, listed once in providers/clouds.ts. */
import { running, type CloudModule } from '../cloud.js';
import { GENESIS_CAPABILITIES, GenesisCloudProvider } from './adapter.js';
import * as W from './wire.js';

const TOKEN = 'GENESISCLOUD_API_TOKEN';
const SSH_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDemoKeyForTheEmulatorOnly0000000000000000 demo@compute-mcp';

export const genesiscloud: CloudModule = {
  id: 'genesiscloud',
  name: 'Genesis Cloud',
  credentials: [TOKEN],
  settings: [],
  defaultBaseUrl: 'https://api.genesiscloud.com',
  capabilities: GENESIS_CAPABILITIES,
  parseError: (body) => {
    const p = W.ErrorBody.safeParse(body);
    return p.success ? p.data : {};
  },
  // Source: providers.md §3.1 — Bearer.
  auth: (env) => ({ headers: { authorization: `Bearer ${env[TOKEN]}` }, secrets: [env[TOKEN]!] }),
  adapter: ({ http, prices }) => new GenesisCloudProvider({ http, prices }),
  emulator: async ({ pace, latencyMs, options }) => {
    // Loaded only when emulated: a server on real clouds never parses the emulator.
    const { DEMO_DELAYS, DEMO_PRICES, GenesisEmulator, INSTANT } = await import('./emulator.js');
    const em = new GenesisEmulator({ delays: pace === 'demo' ? DEMO_DELAYS : INSTANT, latencyMs, ...options });
    return running(em, { env: { [TOKEN]: em.token }, live: () => em.liveInstances(), demoPrices: DEMO_PRICES });
  },
  contract: {
    createRequest: (name) => ({ instance_type: 'vcpu-2_memory-4g_disk-80g', name, ssh_public_key: SSH_KEY }),
    unusable: [{ limit_price_usd: 2 }],
    createCall: { method: 'POST', path: /^\/compute\/v1\/instances$/ },
    readCall: { method: 'GET', path: /^\/compute\/v1\/instances\/[^/]+$/ },
  },
  demo: async ({ call, human, say }) => {
    say('\n— Genesis Cloud: an on-demand H100 VM —');
    const g = 'genesiscloud';
    const types = await call('The cheapest H100 on Genesis Cloud', 'list_instance_types', {
      provider: g,
      gpu: 'h100',
      limit: 1,
    });
    const type = (types.items as { id: string }[] | undefined)?.[0];
    if (!type) throw new Error('no H100 type found');
    const create = {
      provider: g,
      instance_type: type.id,
      name: 'demo-h100',
      ssh_public_key: SSH_KEY,
      lifetime_hours: 2,
    };
    await call('Quote it without creating anything (dry run)', 'create_vm', { ...create, dry_run: true });
    const ask = await call('Ask to create it: a GPU VM needs a human yes', 'create_vm', create);
    if (ask.status !== 'confirmation_required') throw new Error(`expected confirmation_required, got ${ask.status}`);
    human('reads the summary above and says: yes.');
    const created = await call('Create it with the confirmation token', 'create_vm', {
      ...create,
      confirmation_token: ask.confirmation_token,
    });
    const id = (created.instance as { id: string } | undefined)?.id;
    if (!id) throw new Error('create failed');
    await call('The same call again (a retry) never makes a second VM', 'create_vm', {
      ...create,
      confirmation_token: ask.confirmation_token,
    });
    await call('Wait until it runs', 'wait_for_instance', { provider: g, id, status: 'running', timeout_seconds: 30 });
    await call('How do I get in?', 'get_console', { provider: g, id });
    await call('Pause it', 'pause_instances', { provider: g, ids: [id] });
    await call('Wait until it is paused', 'wait_for_instance', {
      provider: g,
      id,
      status: 'paused',
      timeout_seconds: 30,
    });
    const snap = await call('Snapshot its disk', 'snapshot', { provider: g, id, name: 'demo-h100-snap' });
    if (!snap.snapshot) throw new Error('snapshot failed');
    await call('List its snapshots', 'list_snapshots', { provider: g, id });
    const del = await call('Delete it: deletes need a human yes too', 'delete_vm', { provider: g, id });
    human('says: yes, delete it.');
    await call('Delete with the confirmation token', 'delete_vm', {
      provider: g,
      id,
      confirmation_token: del.confirmation_token,
    });
    await call('Wait until it is gone', 'wait_for_instance', {
      provider: g,
      id,
      status: 'terminated',
      timeout_seconds: 30,
    });
    say('\nGenesis Cloud: an H100 found, quoted, confirmed, created, reached, paused, snapshotted and deleted.');
  },
};
