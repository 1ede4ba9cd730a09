/** Hard limits: checked at quote time and again just before the cloud is called, and they hold under concurrency. */
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { additionOf, checkTotals, usageOf } from '../../src/guardrails/limits.js';
import type { Instance } from '../../src/domain/model.js';
import type { Quote } from '../../src/guardrails/quote.js';
import { CPU2, H100, SSH_KEY, startHarness, text, type Harness } from '../helpers/harness.js';

let h: Harness;
afterEach(async () => h?.close());
const sc = <T = Record<string, unknown>>(r: { structuredContent?: unknown }) => r.structuredContent as T;
const CPU = { provider: 'genesiscloud', instance_type: CPU2, ssh_public_key: SSH_KEY };
const GPU = { provider: 'genesiscloud', instance_type: H100, ssh_public_key: SSH_KEY };
const RTX = 'vcpu-4_memory-24g_disk-80g_nvidia3090-1';

describe('usage and totals (pure)', () => {
  const inst = (status: Instance['status'], gpus: number, usd: number | null): Instance => ({
    provider: 'genesiscloud',
    id: Math.random().toString(),
    name: 'x',
    status,
    provider_status: status,
    instance_type: 't',
    gpu: gpus ? { model: 'H100', count: gpus } : null,
    price_usd_per_hour: usd,
  });
  it('counts every VM behind an id (a bid for several), and GPUs it does not know as unknown, never as 0', () => {
    const u = usageOf([
      { ...inst('running', 1, 9), quantity: 4 },
      { ...inst('running', 0, 1), gpu: undefined },
    ]);
    expect(u).toMatchObject({ instances: 5, gpus: 4, usd_per_hour: 37, unknown_gpus: 1 });
  });

  it('counts existing VMs, GPUs and $/hour of billing VMs only', () => {
    const u = usageOf([
      inst('running', 8, 17.92),
      inst('paused', 1, 0.45),
      inst('pending', 0, 0.1),
      inst('terminating', 8, 17.92),
      inst('running', 1, null),
    ]);
    expect(u).toEqual({
      instances: 4,
      gpus: 9,
      usd_per_hour: 18.02,
      unknown_priced: 1,
      unknown_types: ['genesiscloud/t'],
      unknown_gpus: 0,
    });
  });
  const q0 = {
    provider: 'genesiscloud',
    instance_type: 't',
    region: 'r',
    image: 'i',
    gpu: { model: 'H100', count: 8 },
    usd_per_hour: 17.92,
    price_source: 'emulator',
    lifetime_hours: null,
    max_total_usd: null,
  } as Quote;
  const q = additionOf(q0);
  const none = { unknown_types: [], unknown_gpus: 0 };
  const pol = (limits: object) => parseConfig({ policy: { limits } }).policy;
  it.each([
    [
      { maxInstances: 2 },
      { instances: 2, gpus: 0, usd_per_hour: 0, unknown_priced: 0, ...none },
      'policy.limits.maxInstances',
    ],
    [
      { maxGpusTotal: 12 },
      { instances: 1, gpus: 8, usd_per_hour: 0, unknown_priced: 0, ...none },
      'policy.limits.maxGpusTotal',
    ],
    [
      { maxUsdPerHourTotal: 30 },
      { instances: 1, gpus: 0, usd_per_hour: 12.1, unknown_priced: 0, ...none },
      'policy.limits.maxUsdPerHourTotal',
    ],
  ])('denies over %j', (limits, usage, rule) =>
    expect(checkTotals(q, usage, pol(limits))).toMatchObject({ ok: false, rule }),
  );
  it('allows exactly at a limit, and denies when unknown prices make the $ total uncheckable (fail closed)', () => {
    expect(
      checkTotals(
        q,
        { instances: 1, gpus: 8, usd_per_hour: 12.08, unknown_priced: 0, ...none },
        pol({ maxInstances: 2, maxGpusTotal: 16, maxUsdPerHourTotal: 30 }),
      ),
    ).toEqual({ ok: true });
    expect(
      checkTotals(
        q,
        {
          instances: 1,
          gpus: 0,
          usd_per_hour: 0,
          unknown_priced: 2,
          unknown_types: ['genesiscloud/t'],
          unknown_gpus: 0,
        },
        pol({ maxUsdPerHourTotal: 30 }),
      ),
    ).toMatchObject({
      ok: false,
      rule: 'policy.limits.maxUsdPerHourTotal',
      reason: expect.stringContaining('2 running VM(s) have unknown prices (genesiscloud/t)'),
    });
    expect(
      checkTotals(
        { ...q, usd_per_hour: null },
        { instances: 0, gpus: 0, usd_per_hour: 0, unknown_priced: 0, ...none },
        pol({ maxUsdPerHourTotal: 30 }),
      ),
    ).toMatchObject({
      ok: false,
      rule: 'policy.limits.maxUsdPerHourTotal',
      instead: expect.stringContaining('prices.<cloud>.<type>'),
    });
    // A running VM of an unknown type could hold any number of GPUs: the GPU limit cannot be checked.
    expect(
      checkTotals(
        q,
        { instances: 1, gpus: 0, usd_per_hour: 0, unknown_priced: 0, unknown_types: [], unknown_gpus: 1 },
        pol({ maxGpusTotal: 64 }),
      ),
    ).toMatchObject({
      ok: false,
      rule: 'policy.limits.maxGpusTotal',
      reason: expect.stringContaining('GPU count is unknown'),
    });
    // A resume adds no VM: it fits even at maxInstances.
    expect(
      checkTotals(
        { instances: 0, gpus: 0, usd_per_hour: 0 },
        { instances: 2, gpus: 0, usd_per_hour: 0, unknown_priced: 0, ...none },
        pol({ maxInstances: 2 }),
      ),
    ).toEqual({ ok: true });
  });
});

describe('limits through create_vm', () => {
  it('ten parallel creates with room for exactly one create exactly one VM', async () => {
    h = await startHarness({ config: { policy: { limits: { maxInstances: 1 } } } });
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => h.call('create_vm', { ...CPU, name: `race-${i}` })),
    );
    const created = results.filter((r) => !r.isError && sc<{ status: string }>(r).status === 'created');
    const denied = results.filter((r) => r.isError);
    expect(created).toHaveLength(1);
    expect(denied).toHaveLength(9);
    for (const r of denied)
      expect(text(r)).toMatch(
        /^\[POLICY_DENIED\] genesiscloud: 1 VM\(s\) exist and the limit is 1 \(policy\.limits\.maxInstances\); no VM was created\. Delete a VM/,
      );
    expect(h.emulator.liveInstances()).toHaveLength(1);
    expect(h.emulator.http.count('POST', '/compute/v1/instances')).toBe(1);
  });

  it('ten parallel GPU creates approved by a human hold maxGpusTotal too', async () => {
    h = await startHarness({
      config: { policy: { limits: { maxGpusTotal: 1 } } },
      elicit: () => ({ action: 'accept', content: { approve: true } }),
    });
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => h.call('create_vm', { ...GPU, instance_type: RTX, name: `g-${i}` })),
    );
    expect(results.filter((r) => !r.isError)).toHaveLength(1);
    expect(h.emulator.liveInstances()).toHaveLength(1);
  });

  it('denies at quote time, before asking anyone, and says what would fit', async () => {
    const asked: string[] = [];
    h = await startHarness({
      config: { policy: { limits: { maxGpusTotal: 9 } } },
      elicit: (r) => (asked.push(r.params.message), { action: 'accept', content: { approve: true } }),
    });
    expect(sc<{ status: string }>(await h.call('create_vm', { ...GPU, name: 'first' })).status).toBe('created');
    const r = await h.call('create_vm', { ...GPU, name: 'second' });
    expect(text(r)).toMatch(
      /\[POLICY_DENIED\] genesiscloud: 8 GPU\(s\) run and 8 more would pass the limit of 9 \(policy\.limits\.maxGpusTotal\); no VM was created\. At most 1 more GPU\(s\) fit/,
    );
    expect(asked).toHaveLength(1);
    expect(h.emulator.liveInstances()).toHaveLength(1);
  });

  it('paused VMs free their GPUs and dollars but still count as instances', async () => {
    h = await startHarness({
      config: {
        policy: {
          limits: { maxUsdPerHourTotal: 20, maxInstances: 2 },
          confirm: { gpu: 'never', aboveUsdPerHour: 100 },
        },
      },
    });
    const a = sc<{ instance: { id: string } }>(await h.call('create_vm', { ...GPU, name: 'a' })).instance.id;
    expect(text(await h.call('create_vm', { ...GPU, name: 'b' }))).toContain('policy.limits.maxUsdPerHourTotal');
    await h.call('pause_instances', { provider: 'genesiscloud', ids: [a] });
    await h.call('wait_for_instance', { provider: 'genesiscloud', id: a, status: 'paused' });
    expect(sc<{ status: string }>(await h.call('create_vm', { ...GPU, name: 'b' })).status).toBe('created');
    expect(text(await h.call('create_vm', { ...CPU, name: 'c' }))).toContain('policy.limits.maxInstances');
  });

  it('checks again just before the cloud is called: a token approved with room left is refused once the room is gone', async () => {
    h = await startHarness({ config: { policy: { limits: { maxGpusTotal: 8 } } } });
    const ask = sc<{ confirmation_token: string }>(await h.call('create_vm', { ...GPU, name: 'big' }));
    const other = sc<{ confirmation_token: string }>(
      await h.call('create_vm', { ...GPU, instance_type: RTX, name: 'small' }),
    );
    await h.call('create_vm', {
      ...GPU,
      instance_type: RTX,
      name: 'small',
      confirmation_token: other.confirmation_token,
    });
    const r = await h.call('create_vm', { ...GPU, name: 'big', confirmation_token: ask.confirmation_token });
    expect(text(r)).toMatch(/^\[POLICY_DENIED\].*policy\.limits\.maxGpusTotal/);
    expect(h.emulator.liveInstances().map((i) => i.name)).toEqual(['small']);
  });

  it('fails closed when the VMs cannot be counted', async () => {
    h = await startHarness({ config: { policy: { limits: { maxInstances: 5 } } }, retry: { maxAttempts: 1 } });
    h.emulator.http.injectFault({ method: 'GET', path: '/compute/v1/instances', status: 503, times: 0 });
    const r = await h.call('create_vm', { ...CPU, name: 'x' });
    expect(text(r)).toMatch(
      /^\[POLICY_DENIED\] genesiscloud: cannot count the VMs on genesiscloud, so the total limits cannot be checked; nothing was started/,
    );
    expect(h.emulator.liveInstances()).toHaveLength(0);
  });

  it('no tool argument overrides a limit', async () => {
    h = await startHarness({ config: { policy: { limits: { maxLifetimeHours: 4, maxUsdPerHourPerVm: 10 } } } });
    expect(text(await h.call('create_vm', { ...CPU, name: 'x', lifetime_hours: 5 }))).toContain(
      'policy.limits.maxLifetimeHours',
    );
    expect(text(await h.call('create_vm', { ...GPU, name: 'x', confirmation_token: 'anything' }))).toContain(
      'policy.limits.maxUsdPerHourPerVm',
    );
    expect(h.emulator.liveInstances()).toHaveLength(0);
  });
});
