/**
 * ONET Solutions through a real client: its sizes across clouds with an honest (unknown) price, a create through the
 * gate, the browser console, a suspended VM never resumed, from_snapshot refused, and a delete that says when billing
 * ends.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { HttpClient } from '../../src/http/client.js';
import { OnetProvider } from '../../src/providers/onet/adapter.js';
import { OnetEmulator } from '../../src/providers/onet/emulator.js';
import { drfError } from '../../src/providers/onet/index.js';
import { SSH_KEY, startHarness, text, type Harness } from '../helpers/harness.js';

let h: Harness;
let extra: OnetEmulator | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined as unknown as Harness; // a test that starts no harness must not close the last one again
  await extra?.stop();
  extra = undefined;
});
const sc = <T = Record<string, unknown>>(r: { structuredContent?: unknown }) => r.structuredContent as T;
const VM = { provider: 'onet', instance_type: 'vps-s1', name: 'vps', ssh_public_key: SSH_KEY };
const yes = () => ({ action: 'accept' as const, content: { approve: true } });

async function createVm(name = 'vps'): Promise<string> {
  const args = { ...VM, name };
  const ask = sc<{ status: string; confirmation_token: string }>(await h.call('create_vm', args));
  expect(ask.status).toBe('confirmation_required');
  const r = await h.call('create_vm', { ...args, confirmation_token: ask.confirmation_token });
  expect(r.isError, text(r)).toBeFalsy();
  return sc<{ instance: { id: string } }>(r).instance.id;
}

type Types = {
  items: { provider: string; id: string; price: { usd_per_hour: number | null; source: string | null } }[];
};

describe('ONET Solutions through the tools', () => {
  it('list_instance_types spans the clouds; ONET prices are unknown (never its own currency as USD)', async () => {
    h = await startHarness({ clouds: ['onet'] });
    const all = sc<Types>(await h.call('list_instance_types', { limit: 100 }));
    expect(new Set(all.items.map((t) => t.provider))).toEqual(new Set(['genesiscloud', 'onet']));
    const onet = all.items.filter((t) => t.provider === 'onet');
    expect(onet.map((t) => t.id).sort()).toEqual(['vps-l4', 'vps-m2', 'vps-s1', 'vps-xl8']);
    for (const t of onet) expect(t.price).toEqual({ usd_per_hour: null, source: null });
  });

  it('a configured USD price per size (prices.onet) is used and labelled config', async () => {
    h = await startHarness({ clouds: ['onet'], config: { prices: { onet: { 'vps-s1': 0.009 } } } });
    const r = sc<Types>(await h.call('list_instance_types', { provider: 'onet', limit: 10 }));
    expect(r.items.find((t) => t.id === 'vps-s1')!.price).toEqual({ usd_per_hour: 0.009, source: 'config' });
    expect(r.items.find((t) => t.id === 'vps-m2')!.price).toEqual({ usd_per_hour: null, source: null });
  });

  it('create needs a yes (unknown price), says the native price is not USD, and get_console returns a URL', async () => {
    h = await startHarness({ clouds: ['onet'] });
    const ask = sc<{ status: string; summary: string }>(await h.call('create_vm', VM));
    expect(ask.status).toBe('confirmation_required');
    const dry = await h.call('create_vm', { ...VM, dry_run: true });
    expect(text(dry)).toContain('currency its API does not state');
    const id = await createVm();
    const w = sc<{ reached: boolean }>(await h.call('wait_for_instance', { provider: 'onet', id }));
    expect(w.reached).toBe(true);
    const c = sc<{ console: { kind: string; url: string } }>(await h.call('get_console', { provider: 'onet', id }));
    expect(c.console.kind).toBe('vnc');
    expect(c.console.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/console\/[0-9a-f-]{36}$/);
  });

  it('a suspended VM is not resumed: unsupported, with the sentence to settle the bill, and no /unsuspend', async () => {
    const asked: string[] = [];
    h = await startHarness({ clouds: ['onet'], elicit: (r) => (asked.push(r.params.message), yes()) });
    const r0 = await h.call('create_vm', VM);
    expect(r0.isError, text(r0)).toBeFalsy();
    const id = sc<{ instance: { id: string } }>(r0).instance.id;
    h.clouds.onet!.setRawStatus(id, 'suspended/stopped');
    const r = sc<{ results: { id: string; result: string; message?: string }[] }>(
      await h.call('resume_instances', { provider: 'onet', ids: [id] }),
    );
    expect(r.results).toEqual([
      expect.objectContaining({
        id,
        result: 'unsupported',
        message: expect.stringContaining('Settle the bill in the ONET console'),
      }),
    ]);
    expect(asked.filter((m) => m.startsWith('Resume'))).toEqual([]); // never worth asking a human about
    expect(h.clouds.onet!.http.count('POST', /\/unsuspend$/)).toBe(0);
    expect(h.clouds.onet!.http.count('POST', /\/start$/)).toBe(0);
  });

  it("a snapshot, which may buy ONET's addon, is spending: a yes first (token), audited, then taken once", async () => {
    h = await startHarness({ clouds: ['onet'] });
    const ask = sc<{ confirmation_token: string }>(await h.call('create_vm', VM));
    const id = sc<{ instance: { id: string } }>(
      await h.call('create_vm', { ...VM, confirmation_token: ask.confirmation_token }),
    ).instance.id;
    const posts = () => h.clouds.onet!.http.count('POST', /\/snapshots$/);
    const args = { provider: 'onet', id, name: 'before-upgrade' };
    const q = sc<{ status: string; summary: string; confirmation_token: string }>(await h.call('snapshot', args));
    expect(q).toMatchObject({
      status: 'confirmation_required',
      summary: expect.stringContaining('may bill its snapshot addon'),
    });
    expect(posts()).toBe(0);
    const done = sc<{ status: string }>(
      await h.call('snapshot', { ...args, confirmation_token: q.confirmation_token }),
    );
    expect(done.status).toBe('created');
    expect(posts()).toBe(1);
    const again = await h.call('snapshot', { ...args, confirmation_token: q.confirmation_token });
    expect(text(again)).toMatch(/^\[CONFIRMATION_INVALID\] .*already used/);
    expect(posts()).toBe(1);
    const audit = h.state
      .lines<{ tool: string; decision?: string; phase: string }>('audit.jsonl')
      .filter((e) => e.tool === 'snapshot');
    expect(audit.map((e) => e.decision ?? e.phase)).toContain('approved');
  });

  it('from_snapshot is refused (INVALID_INPUT) before anything is sent', async () => {
    h = await startHarness({ clouds: ['onet'] });
    const r = await h.call('create_vm', { ...VM, from_snapshot: '00000000-0000-4000-8000-000000000001' });
    expect(r.isError).toBe(true);
    expect(text(r)).toContain('[INVALID_INPUT]');
    expect(text(r)).toContain('not into a new VM');
    expect(h.clouds.onet!.http.requests.filter((q) => q.method !== 'GET')).toEqual([]);
  });

  it('delete_vm says when billing ends (the end of the billed hour)', async () => {
    h = await startHarness({ clouds: ['onet'], elicit: yes });
    // An emulator that bills by the hour as the real cloud does (the harness's one cancels at once).
    extra = new OnetEmulator({ delays: { billingPeriodMs: 3_600_000 } });
    await extra.start();
    h.providers.replace(
      new OnetProvider({
        http: new HttpClient({
          provider: 'onet',
          baseUrl: extra.baseUrl,
          headers: () => ({ authorization: `Bearer ${extra!.token}` }),
          parseError: drfError,
        }),
        organization: extra.organization,
        project: extra.project,
      }),
    );
    const made = await h.call('create_vm', VM);
    expect(made.isError, text(made)).toBeFalsy();
    const id = sc<{ instance: { id: string } }>(made).instance.id;
    const del = sc<{ status: string; message: string }>(await h.call('delete_vm', { provider: 'onet', id }));
    expect(del.status).toBe('deleted');
    expect(del.message).toMatch(/keeps billing until \d{4}-\d\d-\d\dT[\d:.]+Z \(the end of the paid period\)/);
    const after = sc<{ instance: { status: string; provider_status: string } }>(
      await h.call('get_instance', { provider: 'onet', id }),
    );
    expect(after.instance).toMatchObject({ status: 'terminated', provider_status: 'cancelled/stopped' });
  });

  it('the emulator answers the documented rate limit (100/s burst) with 429, Retry-After and a DRF detail', async () => {
    // The emulator's clock stands still: all 101 requests fall in the same second, however slow the machine.
    const em = new OnetEmulator({ now: () => Date.parse('2026-11-28T12:00:00Z') });
    await em.start();
    try {
      const url = `${em.baseUrl}/v1/organizations/${em.organization}/projects/${em.project}/compute/sizes`;
      const headers = { authorization: `Bearer ${em.token}` };
      const answers: Response[] = [];
      for (let i = 0; i < 101; i++) answers.push(await fetch(url, { headers }));
      const limited = answers.filter((a) => a.status === 429);
      expect(answers.filter((a) => a.status === 200)).toHaveLength(100);
      expect(limited).toHaveLength(1);
      expect(limited[0]!.headers.get('retry-after')).toBe('1');
      expect(await limited[0]!.json()).toEqual({ detail: 'Request was throttled. Expected available in 1 second.' });
    } finally {
      await em.stop();
    }
  });

  it('a console session that becomes ready after a delay is waited for (a few seconds at most)', async () => {
    h = await startHarness({ clouds: ['onet'], elicit: yes });
    extra = new OnetEmulator({ delays: { consoleMs: 300 } });
    await extra.start();
    const p = new OnetProvider({
      http: new HttpClient({
        provider: 'onet',
        baseUrl: extra.baseUrl,
        headers: () => ({ authorization: `Bearer ${extra!.token}` }),
        parseError: drfError,
      }),
      organization: extra.organization,
      project: extra.project,
      consolePollMs: 50,
    });
    const inst = await p.create(await p.planCreate({ instance_type: 'vps-m2', name: 'c', ssh_public_key: SSH_KEY }));
    const started = Date.now();
    const c = await p.getConsole(inst.id);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(c.console.url).toContain('/console/');
    expect(extra.http.count('GET', /\/console\/[^/]+$/)).toBeGreaterThan(1);
  });
});
