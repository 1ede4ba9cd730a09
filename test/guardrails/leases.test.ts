/**
 * Leases (guardrails/leases.ts, sweep.ts): every create path leaves one; a VM past its lease is paused on every cloud
 * that can pause, deleted only under "delete", reported under "notify"; restarts, cloud errors and foreign VMs; the
 * clock is moved, never waited for.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Instance } from '../../src/domain/model.js';
import { BUILT_CLOUDS } from '../../src/providers/clouds.js';
import { CLOUD_GRACE_MS } from '../../src/guardrails/sweep.js';
import type { GenesisEmulator } from '../../src/providers/genesiscloud/emulator.js';
import type { InstavmEmulator } from '../../src/providers/instavm/emulator.js';
import { CPU2, H100, SSH_KEY, startHarness, text, type Harness, type HarnessOptions } from '../helpers/harness.js';

const HOUR = 3_600_000;
const AUTO = { policy: { autoApprove: { maxUsdPerHour: 100 }, confirm: { gpu: 'never' } } };
const open: Harness[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((h) => h.close()));
});

/** A harness whose lease clock the test moves. */
async function harness(opts: HarnessOptions = {}) {
  let now = Date.now();
  const h = await startHarness({ config: AUTO, ...opts, clock: () => now });
  open.push(h);
  return Object.assign(h, { advance: (ms: number) => (now += ms), now: () => now });
}

type Out = { status: string; instance?: Instance; quote?: { expires_at: string | null; on_expiry: string | null } };
const out = (r: Awaited<ReturnType<Harness['call']>>) => r.structuredContent as Out;
const cpuVm = (h: Harness, extra: Record<string, unknown> = {}) =>
  h.call('create_vm', {
    provider: 'genesiscloud',
    instance_type: CPU2,
    name: 'leased',
    ssh_public_key: SSH_KEY,
    ...extra,
  });
const statusOf = async (h: Harness, provider: string, id: string) =>
  (out(await h.call('get_instance', { provider, id })).instance as Instance).status;

describe('every create leaves a lease, written before the cloud is called', () => {
  it('auto-approved: the policy default (4 h), shown by the quote, get_instance and list_instances', async () => {
    const h = await harness();
    const r = out(await cpuVm(h));
    expect(r.status).toBe('created');
    expect(r.quote).toMatchObject({ on_expiry: 'stop' });
    const lease = (await h.guards.leases.forInstance('genesiscloud', r.instance!.id))!;
    expect(lease).toMatchObject({ state: 'open', on_expiry: 'stop', enforced_by: 'server' });
    expect(lease.expires_at - lease.created_at).toBe(4 * HOUR);
    const got = out(await h.call('get_instance', { provider: 'genesiscloud', id: r.instance!.id })).instance!;
    expect(got.lease).toEqual({ expires_at: new Date(lease.expires_at).toISOString(), then: 'stop', state: 'open' });
    const listed = (await h.call('list_instances', {})).structuredContent as { items: Instance[] };
    expect(listed.items.find((i) => i.id === r.instance!.id)?.lease?.then).toBe('stop');
    expect(text(await h.call('get_instance', { provider: 'genesiscloud', id: r.instance!.id }))).toContain(
      'lease ends',
    );
  });

  it('the lease line is on disk before the create is sent, and a refused create leaves it done', async () => {
    const h = await harness();
    h.emulator.http.injectFault({ method: 'POST', path: /^\/compute\/v1\/instances$/, status: 400 });
    expect((await cpuVm(h)).isError).toBe(true);
    const leases = h.state.lines<{ state: string; instance_id?: string }>('leases.jsonl');
    expect(leases.map((l) => l.state)).toEqual(['open', 'done']);
    expect(leases.every((l) => !l.instance_id)).toBe(true);
  });

  it('with a confirmation token: the hours asked for, then paused', async () => {
    const h = await harness({ config: {} });
    const args = {
      provider: 'genesiscloud',
      instance_type: H100,
      name: 'train',
      ssh_public_key: SSH_KEY,
      lifetime_hours: 2,
    };
    const ask = (await h.call('create_vm', args)).structuredContent as { confirmation_token: string; summary: string };
    expect(ask.summary).toContain('a lease of 2 h (about $35.84), then it is paused');
    const made = out(await h.call('create_vm', { ...args, confirmation_token: ask.confirmation_token }));
    const lease = (await h.guards.leases.forInstance('genesiscloud', made.instance!.id))!;
    expect(lease.expires_at - lease.created_at).toBe(2 * HOUR);
  });

  it('with elicitation, and an idempotent replay adds no second lease', async () => {
    const h = await harness({ config: {}, elicit: () => ({ action: 'accept', content: { approve: true } }) });
    const args = {
      provider: 'genesiscloud',
      instance_type: H100,
      name: 'e',
      ssh_public_key: SSH_KEY,
      idempotency_key: 'k1',
    };
    const first = out(await h.call('create_vm', args));
    const again = out(await h.call('create_vm', args));
    expect([first.status, again.status]).toEqual(['created', 'existing']);
    expect((await h.guards.leases.all()).filter((l) => l.instance_id === first.instance!.id)).toHaveLength(1);
    expect((await h.guards.leases.get('k1'))?.instance_id).toBe(first.instance!.id);
  });

  it('the policy maximum is the default lifetime, and "no lease" only where the policy allows it', async () => {
    const capped = await harness({ config: { policy: { ...AUTO.policy, limits: { maxLifetimeHours: 3 } } } });
    const a = out(await cpuVm(capped));
    const la = (await capped.guards.leases.forInstance('genesiscloud', a.instance!.id))!;
    expect(la.expires_at - la.created_at).toBe(3 * HOUR);
    const free = await harness({ config: { policy: { ...AUTO.policy, leases: { allowUnleased: true } } } });
    const b = out(await cpuVm(free));
    expect(b.quote).toMatchObject({ expires_at: null, on_expiry: null });
    expect(await free.guards.leases.all()).toHaveLength(0);
  });
});

describe('the sweep', () => {
  it('does nothing, and calls no cloud, before a lease runs out; then pauses the VM once', async () => {
    const h = await harness();
    const id = out(await cpuVm(h)).instance!.id;
    const before = h.emulator.http.requests.length;
    expect(await h.sweep()).toEqual([]);
    expect(h.emulator.http.requests.length).toBe(before);

    h.advance(4 * HOUR + 1);
    const [action] = await h.sweep();
    expect(action).toMatchObject({ provider: 'genesiscloud', instance_id: id, result: 'stopped' });
    expect(await statusOf(h, 'genesiscloud', id)).toMatch(/paused|stopping/);
    expect((await h.guards.leases.forInstance('genesiscloud', id))?.state).toBe('done');
    const audit = h.state.lines<{ tool: string; status?: string; request?: { lease?: string } }>('audit.jsonl');
    expect(audit.some((a) => a.tool === 'lease' && a.status === 'stopped' && a.request?.lease)).toBe(true);
    expect(await h.sweep()).toEqual([]);
  });

  it('a dry run says what it would do and changes nothing', async () => {
    const h = await harness();
    const id = out(await cpuVm(h)).instance!.id;
    h.advance(5 * HOUR);
    expect((await h.sweep({ dryRun: true }))[0]).toMatchObject({ result: 'would_stop', instance_id: id });
    expect(await statusOf(h, 'genesiscloud', id)).toBe('running');
    expect((await h.guards.leases.forInstance('genesiscloud', id))?.state).toBe('open');
  });

  it.each(['genesiscloud', 'mithril', 'onet', 'k0rdent'])('pauses a VM past its lease on %s', async (cloud) => {
    const h = await harness({
      clouds: [cloud],
      config: { ...AUTO, prices: { onet: { 'vps-s1': 0.02 } } },
    });
    const req = BUILT_CLOUDS.find((c) => c.id === cloud)!.contract.createRequest('leased');
    const made = out(await h.call('create_vm', { provider: cloud, ...req, lifetime_hours: 1 }));
    expect(made.status).toBe('created');
    const id = made.instance!.id;
    await h.call('wait_for_instance', { provider: cloud, id, status: 'running', timeout_seconds: 20 });
    h.advance(HOUR + 1);
    const [action] = await h.sweep();
    expect(action).toMatchObject({ provider: cloud, instance_id: id, result: 'stopped' });
    await h.call('wait_for_instance', { provider: cloud, id, status: 'paused', timeout_seconds: 20 });
    expect(await statusOf(h, cloud, id)).toBe('paused');
  });

  it('deletes only when the policy says "delete"', async () => {
    const h = await harness({ config: { policy: { ...AUTO.policy, leases: { onExpiry: 'delete' } } } });
    const id = out(await cpuVm(h, { lifetime_hours: 1 })).instance!.id;
    h.advance(HOUR + 1);
    expect((await h.sweep())[0]).toMatchObject({ result: 'deleted', instance_id: id });
    await h.call('wait_for_instance', { provider: 'genesiscloud', id, status: 'terminated', timeout_seconds: 20 });
    const audit = h.state.lines<{ tool: string; phase: string; request?: { on_expiry?: string } }>('audit.jsonl');
    expect(audit.some((a) => a.tool === 'lease' && a.phase === 'send' && a.request?.on_expiry === 'delete')).toBe(true);
  });

  it('"notify" says so once and leaves the VM running; a pause later settles it', async () => {
    const h = await harness({ config: { policy: { ...AUTO.policy, leases: { onExpiry: 'notify' } } } });
    const id = out(await cpuVm(h, { lifetime_hours: 1 })).instance!.id;
    h.advance(HOUR + 1);
    expect((await h.sweep())[0]).toMatchObject({ result: 'notified' });
    expect(await statusOf(h, 'genesiscloud', id)).toBe('running');
    expect(h.logLines.some((l) => l.includes('lease ran out: the VM still bills'))).toBe(true);
    expect(await h.sweep()).toEqual([]);
    expect((await h.call('get_instance', { provider: 'genesiscloud', id })).structuredContent).toMatchObject({
      instance: { lease: { state: 'overdue' } },
    });
    await h.call('pause_instances', { provider: 'genesiscloud', ids: [id] });
    await h.call('wait_for_instance', { provider: 'genesiscloud', id, status: 'paused', timeout_seconds: 20 });
    expect((await h.sweep())[0]).toMatchObject({ result: 'already_stopped' });
  });

  it('leaves VMs it did not create alone, however old', async () => {
    const h = await harness();
    const p = h.providers.get('genesiscloud');
    const foreign = await p.create(
      await p.planCreate({ instance_type: CPU2, name: 'theirs', ssh_public_key: SSH_KEY }),
    );
    const ours = out(await cpuVm(h)).instance!.id;
    h.advance(1_000 * HOUR);
    const actions = await h.sweep();
    expect(actions.map((a) => a.instance_id)).toEqual([ours]);
    expect(await statusOf(h, 'genesiscloud', foreign.id)).toBe('running');
    expect(h.emulator.http.requests.some((r) => r.path.includes(foreign.id) && r.method !== 'GET')).toBe(false);
  });

  it('a cloud that fails during a sweep loses nothing: the lease stays open and the next sweep acts', async () => {
    const h = await harness();
    const id = out(await cpuVm(h)).instance!.id;
    h.advance(5 * HOUR);
    h.emulator.http.injectFault({ method: 'POST', path: /actions$/, status: 503, times: 0 });
    const [failed] = await h.sweep();
    expect(failed).toMatchObject({ result: 'retry', instance_id: id });
    expect(failed!.message).toContain('the next sweep tries again');
    expect((await h.guards.leases.forInstance('genesiscloud', id))?.state).toBe('open');
    expect(await statusOf(h, 'genesiscloud', id)).toBe('running');
    h.emulator.http.injectFault({ method: 'GET', status: 500, times: 0 });
    expect((await h.sweep())[0]).toMatchObject({ result: 'retry' });
    h.emulator.http.clearFaults();
    expect((await h.sweep())[0]).toMatchObject({ result: 'stopped', instance_id: id });
  });

  it('still enforces the lease after a restart on the same state directory', async () => {
    const first = await harness();
    const id = out(await cpuVm(first)).instance!.id;
    const emulator: GenesisEmulator = first.emulator;
    const later = first.now() + 5 * HOUR;
    const second = await startHarness({
      config: AUTO,
      state: first.state,
      sharedEmulator: emulator,
      clock: () => later,
    });
    open.unshift(second); // closed before the first, whose emulator it shares
    expect((await second.sweep())[0]).toMatchObject({ result: 'stopped', instance_id: id });
  });
});

describe('extend_lease', () => {
  it('is spending: a yes for the added hours, once; the sweep then waits for the new end', async () => {
    const h = await harness({ config: {} });
    const args = {
      provider: 'genesiscloud',
      instance_type: H100,
      name: 'x',
      ssh_public_key: SSH_KEY,
      lifetime_hours: 1,
    };
    const ask = (await h.call('create_vm', args)).structuredContent as { confirmation_token: string };
    const id = out(await h.call('create_vm', { ...args, confirmation_token: ask.confirmation_token })).instance!.id;
    const ext = (await h.call('extend_lease', { provider: 'genesiscloud', id, hours: 2 })).structuredContent as {
      status: string;
      summary: string;
      confirmation_token: string;
    };
    expect(ext.status).toBe('confirmation_required');
    expect(ext.summary).toContain('by 2 h (about $35.84)');
    const lease = (await h.guards.leases.forInstance('genesiscloud', id))!;
    expect(lease.expires_at - lease.created_at).toBe(HOUR);

    const done = (
      await h.call('extend_lease', {
        provider: 'genesiscloud',
        id,
        hours: 2,
        confirmation_token: ext.confirmation_token,
      })
    ).structuredContent as { status: string; lease: { expires_at: string } };
    expect(done.status).toBe('extended');
    expect(Date.parse(done.lease.expires_at)).toBe(lease.expires_at + 2 * HOUR);
    const replay = await h.call('extend_lease', {
      provider: 'genesiscloud',
      id,
      hours: 2,
      confirmation_token: ext.confirmation_token,
    });
    expect(replay.isError).toBe(true);
    expect((await h.guards.leases.forInstance('genesiscloud', id))!.expires_at).toBe(lease.expires_at + 2 * HOUR);

    h.advance(HOUR + 1);
    expect(await h.sweep()).toEqual([]);
    h.advance(2 * HOUR);
    expect((await h.sweep())[0]).toMatchObject({ result: 'stopped' });
  });

  it('is denied past policy.limits.maxLifetimeHours, and refused for VMs not created here', async () => {
    const h = await harness({ config: { policy: { ...AUTO.policy, limits: { maxLifetimeHours: 3 } } } });
    const id = out(await cpuVm(h)).instance!.id;
    const r = await h.call('extend_lease', { provider: 'genesiscloud', id, hours: 1 });
    expect(text(r)).toMatch(/^\[POLICY_DENIED\].*maxLifetimeHours/);
    const p = h.providers.get('genesiscloud');
    const foreign = await p.create(
      await p.planCreate({ instance_type: CPU2, name: 'theirs', ssh_public_key: SSH_KEY }),
    );
    expect(text(await h.call('extend_lease', { provider: 'genesiscloud', id: foreign.id, hours: 1 }))).toMatch(
      /^\[NOT_FOUND\].*not created through this server/,
    );
  });
});

describe('a cloud that ends VMs on time (InstaVM)', () => {
  const create = async (h: Awaited<ReturnType<typeof harness>>) => {
    const req = BUILT_CLOUDS.find((c) => c.id === 'instavm')!.contract.createRequest('timed');
    const made = out(await h.call('create_vm', { provider: 'instavm', ...req, lifetime_hours: 1 }));
    expect(made.quote).toMatchObject({ on_expiry: 'cloud_ends' });
    return made.instance!.id;
  };

  it('keeps the lease itself; an extension moves the cloud’s end; the sweep sees it gone', async () => {
    const h = await harness({ clouds: ['instavm'] });
    const em = h.clouds.instavm!.instance as InstavmEmulator;
    const id = await create(h);
    expect(await h.guards.leases.forInstance('instavm', id)).toMatchObject({ enforced_by: 'cloud' });
    const ext = (await h.call('extend_lease', { provider: 'instavm', id, hours: 2 })).structuredContent as {
      status: string;
    };
    expect(ext.status).toBe('extended');
    const vm = out(await h.call('get_instance', { provider: 'instavm', id })).instance!;
    expect(Date.parse(vm.expires_at!) - Date.parse(vm.created_at!)).toBeGreaterThanOrEqual(3 * HOUR - 60_000);
    h.advance(HOUR + 1);
    em.advance(HOUR + 60_000);
    expect(await h.sweep()).toEqual([]); // the cloud's new end is still ahead
    em.advance(2 * HOUR);
    h.advance(2 * HOUR);
    expect((await h.sweep())[0]).toMatchObject({ result: 'gone', instance_id: id });
  });

  it('acts itself when the cloud did not end the VM: InstaVM cannot pause, so it is reported, never deleted', async () => {
    const h = await harness({ clouds: ['instavm'] });
    const id = await create(h);
    h.advance(HOUR + 1);
    expect(await h.sweep()).toEqual([]); // within the cloud's grace
    h.advance(CLOUD_GRACE_MS);
    const [a] = await h.sweep();
    expect(a).toMatchObject({ result: 'cannot_stop', instance_id: id });
    expect(a!.message).toContain('The cloud did not end it');
    expect(await statusOf(h, 'instavm', id)).toBe('running');
    expect((await h.guards.leases.forInstance('instavm', id))?.state).toBe('overdue');
  });
});

describe('resume', () => {
  it('a VM resumed through the server gets its lease again, from now', async () => {
    const h = await harness();
    const id = out(await cpuVm(h, { lifetime_hours: 1 })).instance!.id;
    h.advance(HOUR + 1);
    expect((await h.sweep())[0]).toMatchObject({ result: 'stopped' });
    await h.call('wait_for_instance', { provider: 'genesiscloud', id, status: 'paused', timeout_seconds: 20 });
    await h.call('resume_instances', { provider: 'genesiscloud', ids: [id] });
    const lease = (await h.guards.leases.forInstance('genesiscloud', id))!;
    expect(lease.state).toBe('open');
    expect(lease.expires_at).toBe(h.now() + 4 * HOUR);
  });
});

describe('compute://spend', () => {
  it('reports each running VM with its $/hour, cost so far and cost until its lease ends, as estimates', async () => {
    const h = await harness();
    const id = out(await cpuVm(h, { lifetime_hours: 3 })).instance!.id;
    const { contents } = await h.client.readResource({ uri: 'compute://spend' });
    const report = JSON.parse((contents[0] as { text: string }).text) as {
      cost_basis: string;
      totals: { billing: number; usd_per_hour_now: number };
      vms: { id: string; ours: boolean; usd_per_hour: number; lease: { then: string; cost_to_end_usd: number } }[];
    };
    expect(report.cost_basis).toMatch(/^estimate/);
    const vm = report.vms.find((v) => v.id === id)!;
    expect(vm).toMatchObject({ ours: true, usd_per_hour: 0.04, lease: { then: 'stop', cost_to_end_usd: 0.12 } });
    expect(report.totals.billing).toBe(1);
    expect(report.totals.usd_per_hour_now).toBe(0.04);
  });
});

describe('what an attacker or a bad network could do to a lease', () => {
  it("refuses caller keys of the server's own making (token:, create:, resume:)", async () => {
    const h = await harness();
    for (const key of ['token:abc', 'create:xyz', 'RESUME:1']) {
      const r = await cpuVm(h, { idempotency_key: key });
      expect(text(r)).toMatch(/^\[INVALID_INPUT\] genesiscloud: idempotency_key may not start with/);
    }
    expect(h.emulator.liveInstances()).toHaveLength(0);
  });

  it('a create whose answer was lost still gets its VM leased: the sweep finds it by name, type and region', async () => {
    const h = await harness();
    h.emulator.http.injectFault({ method: 'POST', path: /^\/compute\/v1\/instances$/, malformed: true });
    const r = await cpuVm(h, { name: 'lost-answer' });
    expect(r.isError).toBe(true);
    expect(h.emulator.liveInstances()).toHaveLength(1); // the cloud made it; the server never heard
    const [found] = await h.sweep();
    const vm = h.emulator.liveInstances()[0]!;
    expect(found).toMatchObject({ result: 'found', instance_id: vm.id });
    h.advance(5 * HOUR);
    expect((await h.sweep())[0]).toMatchObject({ result: 'stopped', instance_id: vm.id });
  });

  it('a VM still stopping is not taken as paused: the lease stays open until the cloud shows it paused', async () => {
    const h = await harness();
    const id = out(await cpuVm(h)).instance!.id;
    h.advance(5 * HOUR);
    h.clouds.genesiscloud?.setRawStatus(id, 'stopping');
    expect(await h.sweep()).toEqual([]); // stopping: looked at again next time
    expect((await h.guards.leases.forInstance('genesiscloud', id))?.state).toBe('open');
  });

  it('the approval card secret never reaches the audit log', async () => {
    const h = await harness({
      desk: {},
      capabilities: { extensions: { 'io.modelcontextprotocol/ui': { mimeTypes: ['text/html;profile=mcp-app'] } } },
    });
    await h.call('approve_in_app', { approval_id: 'apr_x', secret: 'S'.repeat(43), action: 'approve' });
    expect(readFileSync(join(h.state.dir, 'audit.jsonl'), 'utf8')).not.toContain('S'.repeat(43));
  });
});
