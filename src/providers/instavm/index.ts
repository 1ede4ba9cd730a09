/** InstaVM as the server sees it: one value, listed once in providers/clouds.ts. */
import type { CloudErrorBody } from '../../http/client.js';
import { running, type CloudModule, type RunningEmulator } from '../cloud.js';
import { INSTAVM_CAPABILITIES, InstavmProvider } from './adapter.js';
import type { InstavmEmulator } from './emulator.js';
import * as W from './wire.js';

const KEY = 'INSTAVM_API_KEY';

/** FastAPI error bodies: `{"detail": "..."}`, or on 422 `{"detail": [{loc, msg, type}, ...]}` (seed 004). */
export function fastapiError(body: unknown): CloudErrorBody {
  const p = W.ErrorBody.safeParse(body);
  if (!p.success) return {};
  const d = p.data.detail;
  if (typeof d === 'string') return { message: d };
  const parts = d.map((i) => {
    const loc = i.loc.filter((x) => x !== 'body').join('.');
    return loc ? `${loc}: ${i.msg}` : i.msg;
  });
  return parts.length ? { code: d[0]!.type, message: parts.join('; ') } : {};
}

/** The emulator as tests see it: a RunningEmulator whose clock can be moved on. */
export interface InstavmRunningEmulator extends RunningEmulator {
  /** Moves the emulator's clock forward, so a VM's lifetime passes without waiting. */
  advance(ms: number): void;
  emulator: InstavmEmulator;
}

export const instavm: CloudModule = {
  id: 'instavm',
  name: 'InstaVM',
  credentials: [KEY],
  settings: [],
  defaultBaseUrl: 'https://api.instavm.io',
  capabilities: INSTAVM_CAPABILITIES,
  parseError: fastapiError,
  // Seed 004 declares an optional X-API-Key header on every operation; the vendor prefers it for API keys
  // (instavm/skills platform.md; providers.md §5.1).
  auth: (env) => ({ headers: { 'x-api-key': env[KEY]! }, secrets: [env[KEY]!] }),
  adapter: ({ http, prices, log }) => new InstavmProvider({ http, prices, log }),
  emulator: async ({ pace, latencyMs, options }) => {
    // Loaded only when emulated: a server on real clouds never parses the emulator.
    const { DEMO_DELAYS, DEMO_PRICES, INSTANT, InstavmEmulator } = await import('./emulator.js');
    const em = new InstavmEmulator({ delays: pace === 'demo' ? DEMO_DELAYS : INSTANT, latencyMs, ...options });
    const started = await running(em, { env: { [KEY]: em.key }, live: () => em.liveVms(), demoPrices: DEMO_PRICES });
    const emulated: InstavmRunningEmulator = { ...started, advance: (ms) => em.advance(ms), emulator: em };
    return emulated;
  },
  contract: {
    createRequest: (name) => ({ instance_type: '1vcpu-1gb', name }),
    unusable: [
      { limit_price_usd: 2 },
      { startup_script: '#!/bin/sh\necho hello' },
      { disk_gib: 20 },
      { region: 'us-east-1' },
      { instance_type: '3vcpu-5gb' }, // free-form on the wire, but only the named sizes are offered
      { ssh_public_key: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIContract contract@test' },
    ],
    createCall: { method: 'POST', path: /^\/v1\/vms$/ },
    readCall: { method: 'GET', path: /^\/v1\/vms\/[^/]+$/ },
  },
  demo: async ({ call, human, say }) => {
    say('\n— InstaVM: a microVM that ends by itself when its lifetime is up —');
    const p = 'instavm';
    await call('InstaVM sizes: named vCPU/memory sizes, demo prices from the emulator', 'list_instance_types', {
      provider: p,
      limit: 5,
    });
    const create = { provider: p, instance_type: '2vcpu-4gb', name: 'demo-sandbox', lifetime_hours: 2 };
    const ask = await call('Ask to create it for 2 hours: InstaVM ends it then', 'create_vm', create);
    let created = ask;
    if (ask.status === 'confirmation_required') {
      human('reads the summary (it ends by itself after 2 hours) and says: yes.');
      created = await call('Create it with the confirmation token', 'create_vm', {
        ...create,
        confirmation_token: ask.confirmation_token,
      });
    }
    const id = (created.instance as { id: string } | undefined)?.id;
    if (!id) throw new Error('create failed');
    await call('Wait until it runs', 'wait_for_instance', { provider: p, id, status: 'running', timeout_seconds: 30 });
    await call('It says when it ends (expires_at)', 'get_instance', { provider: p, id });
    await call('Pause it? InstaVM cannot: the answer says what to do instead', 'pause_instances', {
      provider: p,
      ids: [id],
    });
    await call('The way in: an SSH command (a key on the InstaVM account)', 'get_console', { provider: p, id });
    const del = await call('Delete it now rather than at the end of its lifetime', 'delete_vm', { provider: p, id });
    if (del.status === 'confirmation_required') {
      human('says: yes, delete it.');
      await call('Delete with the confirmation token', 'delete_vm', {
        provider: p,
        id,
        confirmation_token: del.confirmation_token,
      });
    }
    say('\nInstaVM: created with a lifetime the cloud enforces, no pause (snapshot instead), deleted.');
  },
};
