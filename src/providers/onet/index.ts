/** ONET Solutions as the server sees it: one value, listed once in providers/clouds.ts. */
import type { CloudErrorBody } from '../../http/client.js';
import { running, type CloudModule } from '../cloud.js';
import { ONET_CAPABILITIES, OnetProvider } from './adapter.js';
import * as W from './wire.js';

const KEY = 'ONET_API_KEY';
const ORG = 'ONET_ORGANIZATION_ID';
const PROJECT = 'ONET_PROJECT_ID';
const SSH_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDemoKeyForTheEmulatorOnly0000000000000000 demo@compute-mcp';

/** DRF error bodies: `{"detail": "..."}`, or on 400 `{"field": ["msg", ...], "non_field_errors": [...]}`. */
export function drfError(body: unknown): CloudErrorBody {
  const p = W.ErrorBody.safeParse(body);
  if (!p.success) return {};
  if ('detail' in p.data && typeof p.data.detail === 'string') return { message: p.data.detail };
  const parts = Object.entries(p.data).map(([field, msgs]) => {
    const text = Array.isArray(msgs) ? msgs.join(' ') : msgs;
    return field === 'non_field_errors' ? text : `${field}: ${text}`;
  });
  return parts.length ? { message: parts.join('; ') } : {};
}

export const onet: CloudModule = {
  id: 'onet',
  name: 'ONET Solutions',
  credentials: [KEY],
  settings: [ORG, PROJECT],
  defaultBaseUrl: 'https://api.onetsolutions.net',
  capabilities: ONET_CAPABILITIES,
  parseError: drfError,
  // Source: seed 000 — "Authorization: Bearer <token>" (a JWT or an sk-onetsolutions-... API key).
  auth: (env) => ({ headers: { authorization: `Bearer ${env[KEY]}` }, secrets: [env[KEY]!] }),
  adapter: ({ http, env, prices, log }) =>
    new OnetProvider({ http, organization: env[ORG]!, project: env[PROJECT]!, prices, log }),
  emulator: async ({ pace, latencyMs, options }) => {
    // Loaded only when emulated: a server on real clouds never parses the emulator.
    const { DEMO_DELAYS, INSTANT, OnetEmulator } = await import('./emulator.js');
    const em = new OnetEmulator({ delays: pace === 'demo' ? DEMO_DELAYS : INSTANT, latencyMs, ...options });
    // No demo prices: ONET's prices are in an undocumented currency, so its USD price is unknown unless configured.
    return running(em, {
      env: { [KEY]: em.token, [ORG]: em.organization, [PROJECT]: em.project },
      live: () => em.liveInstances(),
    });
  },
  contract: {
    createRequest: (name) => ({ instance_type: 'vps-s1', name, ssh_public_key: SSH_KEY }),
    unusable: [
      { from_snapshot: '00000000-0000-4000-8000-000000000001' },
      { limit_price_usd: 2 },
      { startup_script: '#!/bin/sh\necho hello' },
      { instance_type: 'vps-xl8' }, // sold monthly only: no prepaid cycle is ever bought
    ],
    createCall: { method: 'POST', path: /^\/v1\/organizations\/[^/]+\/projects\/[^/]+\/compute\/instances$/ },
    readCall: { method: 'GET', path: /^\/v1\/organizations\/[^/]+\/projects\/[^/]+\/compute\/instances\/[^/]+$/ },
  },
  demo: async ({ call, human, say }) => {
    say('\n— ONET Solutions: a CPU VPS billed by the hour, price in an unstated currency —');
    const o = 'onet';
    await call('ONET sizes: no USD price unless the config gives one', 'list_instance_types', {
      provider: o,
      limit: 5,
    });
    const create = { provider: o, instance_type: 'vps-s1', name: 'demo-vps', ssh_public_key: SSH_KEY };
    const ask = await call('Ask to create it: an unknown price needs a human yes', 'create_vm', create);
    if (ask.status !== 'confirmation_required') throw new Error(`expected confirmation_required, got ${ask.status}`);
    human('reads the summary (hourly billing, price not in USD) and says: yes.');
    const created = await call('Create it with the confirmation token', 'create_vm', {
      ...create,
      confirmation_token: ask.confirmation_token,
    });
    const id = (created.instance as { id: string } | undefined)?.id;
    if (!id) throw new Error('create failed');
    await call('Wait until it runs', 'wait_for_instance', { provider: o, id, status: 'running', timeout_seconds: 30 });
    await call('Open its browser console', 'get_console', { provider: o, id });
    const del = await call('Delete it: a human yes again', 'delete_vm', { provider: o, id });
    human('says: yes, delete it.');
    const gone = await call('Delete with the confirmation token: ONET says when billing ends', 'delete_vm', {
      provider: o,
      id,
      confirmation_token: del.confirmation_token,
    });
    // The cancellation takes effect at billing_end_date: said when it is still ahead (the end of the billed hour).
    const billing = typeof gone.message === 'string' ? gone.message : 'Billing stopped with the cancellation.';
    say(`\n   ${billing}`);
    say('\nONET Solutions: created by the hour with a yes, reached through its console, cancelled.');
  },
};
