/** Every tool through a real SDK Client, against the Genesis Cloud emulator. */
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { CPU2, H100, SSH_KEY, startHarness, text, type Harness } from '../helpers/harness.js';

let h: Harness;
afterEach(async () => h?.close());

const sc = <T = Record<string, unknown>>(r: { structuredContent?: unknown }) => r.structuredContent as T;

async function createCpu(name = 'cpu-vm', extra: Record<string, unknown> = {}) {
  const r = await h.call('create_vm', {
    provider: 'genesiscloud',
    instance_type: CPU2,
    name,
    ssh_public_key: SSH_KEY,
    ...extra,
  });
  expect(r.isError, text(r)).toBeFalsy();
  return sc<{ status: string; instance: { id: string; status: string } }>(r);
}

describe('list_providers', () => {
  it('shows Genesis enabled in emulator mode and why the others are not', async () => {
    h = await startHarness();
    const r = await h.call('list_providers');
    const items = sc<{
      items: {
        id: string;
        enabled: boolean;
        mode: string | null;
        reason?: string;
        capabilities: Record<string, unknown> | null;
      }[];
    }>(r).items;
    expect(items.map((i) => i.id)).toEqual(['genesiscloud', 'mithril', 'onet', 'k0rdent', 'instavm']);
    expect(items[0]).toMatchObject({
      enabled: true,
      mode: 'emulated',
      capabilities: { pause: true, console: { differently: expect.stringContaining('SSH') } },
    });
    expect(items.slice(1).every((i) => !i.enabled && i.reason)).toBe(true);
    expect(text(r)).toContain('genesiscloud: enabled (emulated)');
  });
});

describe('list_instance_types', () => {
  it('filters by GPU alias case-insensitively and sorts by price', async () => {
    h = await startHarness();
    const r = sc<{ items: { id: string; gpu: { model: string }; price: { usd_per_hour: number; source: string } }[] }>(
      await h.call('list_instance_types', { gpu: 'RTX-3090', limit: 100 }),
    );
    expect(r.items).toHaveLength(12);
    expect(r.items.every((t) => t.gpu.model === 'RTX 3090' && t.price.source === 'emulator')).toBe(true);
    const prices = r.items.map((t) => t.price.usd_per_hour);
    expect(prices).toEqual([...prices].sort((a, b) => a - b));
    const h100 = sc<{ items: { id: string }[] }>(await h.call('list_instance_types', { gpu: 'h100' }));
    expect(h100.items.map((t) => t.id)).toEqual([H100]);
  });

  it.each([
    [{ min_gpus: 8 }, (t: T) => (t.gpu?.count ?? 0) >= 8],
    [{ min_vcpus: 100 }, (t: T) => t.vcpus >= 100],
    [{ min_memory_gib: 500 }, (t: T) => t.memory_gib >= 500],
    [{ max_usd_per_hour: 0.3 }, (t: T) => t.price.usd_per_hour! <= 0.3],
    [{ region: 'NA-CA-MNZ-1' }, (t: T) => t.regions.includes('NA-CA-MNZ-1') && t.gpu === null],
  ])('filters %j', async (filter, ok) => {
    h = await startHarness();
    const r = sc<{ items: T[] }>(await h.call('list_instance_types', { ...filter, limit: 100 }));
    expect(r.items.length).toBeGreaterThan(0);
    expect(r.items.every(ok)).toBe(true);
  });

  it('pages with limit and cursor, and refuses a cursor used with other filters', async () => {
    h = await startHarness();
    const p1 = sc<{ items: { id: string }[]; next_cursor: string }>(await h.call('list_instance_types', { limit: 20 }));
    const p2 = sc<{ items: { id: string }[]; next_cursor: string }>(
      await h.call('list_instance_types', { limit: 20, cursor: p1.next_cursor }),
    );
    const p3 = sc<{ items: { id: string }[]; next_cursor?: string }>(
      await h.call('list_instance_types', { limit: 20, cursor: p2.next_cursor }),
    );
    expect(p3.next_cursor).toBeUndefined();
    const all = [...p1.items, ...p2.items, ...p3.items].map((t) => t.id);
    expect(all).toHaveLength(48);
    expect(new Set(all).size).toBe(48);
    const bad = await h.call('list_instance_types', { limit: 20, cursor: p1.next_cursor, gpu: 'h100' });
    expect(bad.isError).toBe(true);
    expect(text(bad)).toMatch(/^\[INVALID_INPUT\]/);
  });

  it('says how to enable a cloud that is not enabled', async () => {
    h = await startHarness();
    const r = await h.call('list_instance_types', { provider: 'mithril' });
    expect(r.isError).toBe(true);
    expect(text(r)).toMatch(/^\[PROVIDER_DISABLED\] mithril: Mithril is not enabled\. .*Enabled clouds: genesiscloud/);
  });
});
type T = {
  gpu: { count: number } | null;
  vcpus: number;
  memory_gib: number;
  price: { usd_per_hour: number | null };
  regions: string[];
};

describe('list_images', () => {
  it('lists images and restorable snapshots', async () => {
    h = await startHarness();
    const r = sc<{ items: { id: string; kind: string }[] }>(
      await h.call('list_images', { provider: 'genesiscloud', region: 'NORD-NO-KRS-1' }),
    );
    expect(r.items.map((i) => i.id)).toContain('ubuntu-22.04');
  });
});

describe('create_vm, get_instance, list_instances, wait_for_instance', () => {
  it('creates a cheap CPU VM without confirmation (policy) and waits for it', async () => {
    h = await startHarness({ emulator: { delays: { createMs: 150 } } });
    const out = await createCpu('web', { wait_seconds: 5 });
    expect(out).toMatchObject({ status: 'created', approved_by: 'policy', instance: { status: 'running' } });
    expect(h.emulator.liveInstances()).toHaveLength(1);
    const got = await h.call('get_instance', { provider: 'genesiscloud', id: out.instance.id });
    expect(sc<{ instance: { ssh: string } }>(got).instance.ssh).toMatch(/^ssh ubuntu@198\.51\.100\.\d+$/);
  });

  it('dry_run quotes and shows the exact request without creating anything', async () => {
    h = await startHarness();
    const r = sc<{
      status: string;
      quote: { usd_per_hour: number; gpu: unknown };
      request: { method: string; path: string; body: Record<string, unknown> };
    }>(
      await h.call('create_vm', {
        provider: 'genesiscloud',
        instance_type: H100,
        name: 'big',
        ssh_public_key: SSH_KEY,
        lifetime_hours: 2,
        dry_run: true,
      }),
    );
    expect(r.status).toBe('dry_run');
    expect(r.quote).toMatchObject({
      usd_per_hour: 17.92,
      gpu: { model: 'H100', count: 8 },
      lifetime_hours: 2,
      max_total_usd: 35.84,
    });
    expect(r.request).toMatchObject({
      method: 'POST',
      path: '/compute/v1/instances',
      body: { type: H100, name: 'big', hostname: 'big' },
    });
    expect(h.emulator.liveInstances()).toHaveLength(0);
    expect(h.emulator.http.count('POST', /.*/)).toBe(0);
  });

  it('lists instances across pages and filters by status', async () => {
    h = await startHarness();
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push((await createCpu(`vm-${i}`)).instance.id);
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const r = sc<{ items: { id: string }[]; next_cursor?: string }>(
        await h.call('list_instances', { limit: 2, ...(cursor ? { cursor } : {}) }),
      );
      seen.push(...r.items.map((i) => i.id));
      cursor = r.next_cursor;
    } while (cursor);
    expect(seen.sort()).toEqual(ids.sort());
    const paused = sc<{ items: unknown[] }>(await h.call('list_instances', { status: 'paused' }));
    expect(paused.items).toHaveLength(0);
  });

  it('reports progress while waiting, and returns the state when time runs out', async () => {
    h = await startHarness({ emulator: { delays: { createMs: 60_000 } } });
    const { instance } = await createCpu();
    const progress: unknown[] = [];
    const r = await h.client.callTool(
      { name: 'wait_for_instance', arguments: { provider: 'genesiscloud', id: instance.id, timeout_seconds: 1 } },
      CallToolResultSchema,
      { onprogress: (p) => progress.push(p) },
    );
    expect(r.structuredContent).toMatchObject({
      reached: false,
      instance: { status: 'pending', provider_status: 'creating' },
    });
    expect(progress.length).toBeGreaterThan(2);
    expect(progress[0]).toMatchObject({ total: 1, message: expect.stringContaining('pending (creating)') });
    const values = (progress as { progress: number }[]).map((p) => p.progress);
    for (let i = 1; i < values.length; i++) expect(values[i]).toBeGreaterThan(values[i - 1]!); // strictly increasing
  });

  it('answers NOT_FOUND with a next step', async () => {
    h = await startHarness();
    const r = await h.call('get_instance', { provider: 'genesiscloud', id: '00000000-0000-4000-8000-000000000000' });
    expect(r.isError).toBe(true);
    expect(text(r)).toMatch(
      /^\[NOT_FOUND\] genesiscloud: GET \/compute\/v1\/instances\/00000000-0000-4000-8000-000000000000 failed with HTTP 404 \(not_found\): instance not found\. Check the id/,
    );
  });
});

describe('get_console, pause_instances, resume_instances, snapshot, list_snapshots', () => {
  it('walks the lifecycle with one result per id', async () => {
    h = await startHarness();
    const a = (await createCpu('a')).instance.id;
    const b = (await createCpu('b')).instance.id;
    const c = sc<{ console: { kind: string; command: string }; note: string }>(
      await h.call('get_console', { provider: 'genesiscloud', id: a }),
    );
    expect(c.console).toMatchObject({ kind: 'ssh', command: expect.stringMatching(/^ssh ubuntu@/) });
    expect(c.note).toMatch(/no web console/);

    const p1 = sc<{ results: unknown[] }>(
      await h.call('pause_instances', {
        provider: 'genesiscloud',
        ids: [a, b, '00000000-0000-4000-8000-000000000000'],
      }),
    );
    expect(p1.results).toEqual([
      { id: a, result: 'paused', status: 'stopping' },
      { id: b, result: 'paused', status: 'stopping' },
      { id: '00000000-0000-4000-8000-000000000000', result: 'failed', message: expect.stringContaining('[NOT_FOUND]') },
    ]);
    const p2 = sc<{ results: { result: string }[] }>(
      await h.call('pause_instances', { provider: 'genesiscloud', ids: [a] }),
    );
    expect(p2.results[0]!.result).toBe('already_paused');

    const s = sc<{ snapshot: { id: string; status: string } }>(
      await h.call('snapshot', { provider: 'genesiscloud', id: a, name: 'snap' }),
    );
    const list = sc<{ items: { id: string; status: string }[] }>(
      await h.call('list_snapshots', { provider: 'genesiscloud', id: a }),
    );
    expect(list.items).toEqual([expect.objectContaining({ id: s.snapshot.id, status: 'available' })]);
    const all = sc<{ items: unknown[] }>(await h.call('list_snapshots', { provider: 'genesiscloud' }));
    expect(all.items).toHaveLength(1);

    const r = sc<{ results: unknown[] }>(await h.call('resume_instances', { provider: 'genesiscloud', ids: [a, a] }));
    expect(r.results).toEqual([{ id: a, result: 'resumed', status: 'starting' }]);
    const restored = await h.call('create_vm', {
      provider: 'genesiscloud',
      instance_type: CPU2,
      name: 'restored',
      from_snapshot: s.snapshot.id,
    });
    expect(sc<{ instance: { region: string } }>(restored).instance?.region).toBe(
      sc<{ instance: { region: string } }>(await h.call('get_instance', { provider: 'genesiscloud', id: a })).instance
        .region,
    );
    expect(restored.isError, text(restored)).toBeFalsy();
  });

  it('a VM without a public IP yet gets NOT_READY with a next step', async () => {
    h = await startHarness({ emulator: { delays: { createMs: 60_000 } } });
    const { instance } = await createCpu();
    const r = await h.call('get_console', { provider: 'genesiscloud', id: instance.id });
    expect(text(r)).toMatch(/^\[NOT_READY\].*wait_for_instance/);
  });
});

describe('delete_vm', () => {
  it('asks first, deletes with the token, and a repeat says already gone', async () => {
    h = await startHarness();
    const { instance } = await createCpu();
    const ask = sc<{ status: string; confirmation_token: string; summary: string }>(
      await h.call('delete_vm', { provider: 'genesiscloud', id: instance.id }),
    );
    expect(ask.status).toBe('confirmation_required');
    expect(ask.summary).toContain(instance.id);
    expect(h.emulator.liveInstances()).toHaveLength(1);
    const del = sc<{ status: string; approved_by: string }>(
      await h.call('delete_vm', {
        provider: 'genesiscloud',
        id: instance.id,
        confirmation_token: ask.confirmation_token,
      }),
    );
    expect(del).toMatchObject({ status: 'deleted', approved_by: 'token' });
    const w = sc<{ reached: boolean }>(
      await h.call('wait_for_instance', { provider: 'genesiscloud', id: instance.id, status: 'terminated' }),
    );
    expect(w.reached).toBe(true);
    expect(h.emulator.liveInstances()).toHaveLength(0);
    const again = sc<{ status: string; already_gone: boolean }>(
      await h.call('delete_vm', { provider: 'genesiscloud', id: instance.id }),
    );
    expect(again).toMatchObject({ status: 'deleted', already_gone: true });
  });

  it('a delete token does not delete another VM', async () => {
    h = await startHarness();
    const a = (await createCpu('a')).instance.id;
    const b = (await createCpu('b')).instance.id;
    const ask = sc<{ confirmation_token: string }>(await h.call('delete_vm', { provider: 'genesiscloud', id: a }));
    const r = await h.call('delete_vm', {
      provider: 'genesiscloud',
      id: b,
      confirmation_token: ask.confirmation_token,
    });
    expect(text(r)).toMatch(/^\[CONFIRMATION_INVALID\]/);
    expect(h.emulator.liveInstances()).toHaveLength(2);
  });
});

describe('policy and switches', () => {
  it('denies outside the allow-list and says what is allowed', async () => {
    h = await startHarness({ config: { policy: { allow: { regions: ['EUC-*'] } } } });
    const r = await h.call('create_vm', {
      provider: 'genesiscloud',
      instance_type: CPU2,
      name: 'x',
      ssh_public_key: SSH_KEY,
      region: 'NORD-NO-KRS-1',
    });
    expect(text(r)).toMatch(
      /^\[POLICY_DENIED\] genesiscloud: region NORD-NO-KRS-1 is not allowed \(policy\.allow\.regions\); no VM was created\. Allowed regions: EUC-\*/,
    );
    expect(h.emulator.liveInstances()).toHaveLength(0);
  });

  it('read-only lists only read tools', async () => {
    h = await startHarness({ config: { policy: { readOnly: true } } });
    const { tools } = await h.client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual([
      'get_instance',
      'list_images',
      'list_instance_types',
      'list_instances',
      'list_providers',
      'list_snapshots',
      'wait_for_instance',
    ]);
    const r = await h.call('create_vm', { provider: 'genesiscloud', instance_type: CPU2, name: 'x' });
    expect(r.isError).toBe(true);
  });

  it('disableDestructive, enabledTools and disabledTools filter the list', async () => {
    h = await startHarness({
      config: {
        policy: { disableDestructive: true },
        disabledTools: ['snapshot'],
        enabledTools: ['list_providers', 'snapshot', 'delete_vm', 'create_vm'],
      },
    });
    const { tools } = await h.client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(['create_vm', 'list_providers']);
  });
});
