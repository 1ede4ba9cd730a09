/** Mithril as the server sees it: one value, listed once in providers/clouds.ts. */
import { running, type CloudModule } from '../cloud.js';
import { MITHRIL_CAPABILITIES, MithrilProvider } from './adapter.js';
import * as W from './wire.js';

const KEY = 'MITHRIL_API_KEY';
const PROJECT = 'MITHRIL_PROJECT';
const SSH_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDemoKeyForTheEmulatorOnly0000000000000000 demo@compute-mcp';

/** FastAPI error bodies: `{detail: "..."}`, or 422 `{detail: [{loc, msg}]}`; some clients also see `error`/`message`. */
export function fastApiError(body: unknown): { code?: string; message?: string } {
  const p = W.ErrorBody.safeParse(body);
  if (!p.success) return {};
  const d = p.data.detail;
  const message =
    typeof d === 'string'
      ? d
      : d
        ? d.map((x) => `${(x.loc ?? []).join('.')}: ${x.msg}`).join('; ')
        : (p.data.error ?? p.data.message);
  return message ? { message } : {};
}

export const mithril: CloudModule = {
  id: 'mithril',
  name: 'Mithril',
  credentials: [KEY],
  settings: [PROJECT],
  defaultBaseUrl: 'https://api.mithril.ai',
  capabilities: MITHRIL_CAPABILITIES,
  parseError: fastApiError,
  auth: (env) => ({ headers: { authorization: `Bearer ${env[KEY]}` }, secrets: [env[KEY]!] }),
  adapter: ({ http, env, log }) => new MithrilProvider({ http, project: env[PROJECT]!, log }),
  emulator: async ({ pace, latencyMs, options }) => {
    // Loaded only when emulated: a server on real clouds never parses the emulator.
    const { DEMO_DELAYS, INSTANT, MithrilEmulator } = await import('./emulator.js');
    const em = new MithrilEmulator({ delays: pace === 'demo' ? DEMO_DELAYS : INSTANT, latencyMs, ...options });
    return running(em, { env: { [KEY]: em.key, [PROJECT]: em.project }, live: () => em.liveBids() });
  },
  contract: {
    createRequest: (name) => ({ instance_type: 'a100-80gb.sxm.1x', name, ssh_public_key: SSH_KEY }),
    unusable: [{ image: 'ubuntu-24.04' }, { from_snapshot: 'snap_1' }, { disk_gib: 100 }],
    createCall: { method: 'POST', path: /^\/v2\/spot\/bids$/ },
    readCall: { method: 'GET', path: /^\/v2\/spot\/bids\/[^/]+$/ },
  },
  demo: async ({ call, human, say }) => {
    say('\n— Mithril: a spot bid at the quoted limit price —');
    const m = 'mithril';
    const bid = {
      provider: m,
      instance_type: 'h100-80gb.sxm.8x',
      name: 'demo-spot',
      ssh_public_key: SSH_KEY,
      lifetime_hours: 2,
    };
    const askBid = await call('Ask to bid: the limit price is what the human approves', 'create_vm', bid);
    if (askBid.status !== 'confirmation_required')
      throw new Error(`expected confirmation_required, got ${askBid.status}`);
    human('accepts the limit price: yes.');
    const placed = await call('Place the bid with the confirmation token', 'create_vm', {
      ...bid,
      confirmation_token: askBid.confirmation_token,
    });
    const id = (placed.instance as { id: string } | undefined)?.id;
    if (!id) throw new Error('bid failed');
    await call('Wait until its instance runs', 'wait_for_instance', {
      provider: m,
      id,
      status: 'running',
      timeout_seconds: 30,
    });
    await call('How do I get in?', 'get_console', { provider: m, id });
    await call('Pause the bid (its boot disk is kept)', 'pause_instances', { provider: m, ids: [id] });
    await call('Wait until it is paused', 'wait_for_instance', {
      provider: m,
      id,
      status: 'paused',
      timeout_seconds: 30,
    });
    const askResume = await call(
      'Ask to resume it: it bills again, so it needs a yes like a create',
      'resume_instances',
      { provider: m, ids: [id] },
    );
    if (askResume.status !== 'confirmation_required')
      throw new Error(`expected confirmation_required, got ${askResume.status}`);
    human('says: yes, resume it.');
    await call('Resume it with the confirmation token', 'resume_instances', {
      provider: m,
      ids: [id],
      confirmation_token: askResume.confirmation_token,
    });
    await call('Wait until it runs again', 'wait_for_instance', {
      provider: m,
      id,
      status: 'running',
      timeout_seconds: 30,
    });
    const del = await call('Cancel the bid: a delete needs a human yes', 'delete_vm', { provider: m, id });
    human('says: yes.');
    await call('Cancel it with the confirmation token', 'delete_vm', {
      provider: m,
      id,
      confirmation_token: del.confirmation_token,
    });
    await call('Wait until it is gone', 'wait_for_instance', {
      provider: m,
      id,
      status: 'terminated',
      timeout_seconds: 30,
    });
    say('\nMithril: a spot bid placed at the approved limit price, paused, resumed and cancelled.');
  },
};
