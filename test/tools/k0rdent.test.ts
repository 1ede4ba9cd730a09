/**
 * k0rdent AI through a real client: a create through the confirmation gate with a client-chosen id and the key label,
 * a retry after a lost answer that finds the VM by its label (one VM, status existing), a listing spanning two pages,
 * the SSH way in with the address chosen, and prices from the config or unknown.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SSH_KEY, startHarness, text, type Harness } from '../helpers/harness.js';

let h: Harness;
afterEach(async () => {
  await h?.close();
});
const sc = <T = Record<string, unknown>>(r: { structuredContent?: unknown }) => r.structuredContent as T;
const VM = { provider: 'k0rdent', instance_type: 'c1-small', name: 'train-box', ssh_public_key: SSH_KEY };
const yes = () => ({ action: 'accept' as const, content: { approve: true } });
const CREATE = /^\/v1\/regions\/[^/]+\/projects\/[^/]+\/compute\/instances$/;
type Types = {
  items: {
    provider: string;
    id: string;
    gpu: unknown;
    price: { usd_per_hour: number | null; source: string | null };
  }[];
};

describe('k0rdent AI through the tools', () => {
  it('create goes through the confirmation gate; the VM carries a derived id, the key label and the ssh-keys metadata', async () => {
    h = await startHarness({ clouds: ['k0rdent'] });
    // A GPU type: a human's yes is always needed.
    const args = { ...VM, instance_type: 'g1-xlarge', idempotency_key: 'first-create' };
    const ask = sc<{ status: string; confirmation_token: string; summary: string }>(await h.call('create_vm', args));
    expect(ask.status).toBe('confirmation_required');
    expect(h.clouds.k0rdent!.http.count('POST', CREATE)).toBe(0);
    const r = await h.call('create_vm', { ...args, confirmation_token: ask.confirmation_token });
    expect(r.isError, text(r)).toBeFalsy();
    const out = sc<{ status: string; instance: { id: string; name: string; status: string; gpu: unknown } }>(r);
    expect(out.status).toBe('created');
    // The instance lists no gpus[] of its own: its type's GPUs are the VM's.
    expect(out.instance.gpu).toEqual({ model: 'H100', memory_gib: 80, count: 1 });
    expect(out.instance.id).toMatch(/^train-box-[0-9a-f]{10}$/);
    expect(out.instance.name).toBe('train-box');
    const sent = h.clouds.k0rdent!.http.requests.find((q) => q.method === 'POST' && CREATE.test(q.path))!;
    expect(sent.body).toMatchObject({
      id: out.instance.id,
      displayName: 'train-box',
      labels: { 'managed-by': 'compute-mcp', 'compute-mcp-idempotency-key': expect.stringMatching(/^[0-9a-f]{32}$/) },
      type: '/v1/regions/us-texas-1/zones/us1-a/instance-types/g1-xlarge',
      disks: [
        expect.objectContaining({
          boot: true,
          source: '/v1/regions/us-texas-1/compute/images/ubuntu-24.04-20260202-3',
        }),
      ],
      instanceMetadata: [{ key: 'ssh-keys', value: `admin:${SSH_KEY}\n` }],
    });
    // The way in: the SSH command, for the metadata user, with the address chosen and why.
    const c = await h.call('get_console', { provider: 'k0rdent', id: out.instance.id });
    expect(c.isError, text(c)).toBeFalsy();
    const con = sc<{ console: { kind: string; command: string }; note: string }>(c);
    expect(con.console).toMatchObject({ kind: 'ssh', command: expect.stringMatching(/^ssh admin@203\.0\.113\.\d+$/) });
    expect(text(c)).toContain('marks no address public');
  });

  it('a retry after a lost answer finds the VM by its label: one VM, status existing', async () => {
    h = await startHarness({ clouds: ['k0rdent'], elicit: yes, timeouts: { requestMs: 200 } });
    const em = h.clouds.k0rdent!;
    // The create is received and done, but its answer comes after the client gave up.
    em.http.injectFault({ method: 'POST', path: CREATE, delayMs: 400 });
    const args = { ...VM, name: 'lost-answer', idempotency_key: 'retry-me' };
    const first = await h.call('create_vm', args);
    expect(first.isError).toBe(true);
    expect(text(first)).toMatch(/^\[TIMEOUT\]/);
    for (let i = 0; i < 100 && em.liveCount() === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(em.liveCount()).toBe(1);
    const again = await h.call('create_vm', args);
    expect(again.isError, text(again)).toBeFalsy();
    const out = sc<{ status: string; instance: { id: string }; message: string }>(again);
    expect(out.status).toBe('existing');
    expect(out.message).toContain('its answer was lost');
    expect(em.liveCount()).toBe(1);
    expect(em.http.count('POST', CREATE)).toBe(1);
    expect(out.instance.id).toMatch(/^lost-answer-[0-9a-f]{10}$/);
  });

  it('the same create sent twice by the adapter meets a 409 and is answered with the VM (already exists)', async () => {
    h = await startHarness({ clouds: ['k0rdent'] });
    const p = h.providers.get('k0rdent');
    const plan = await p.planCreate({ ...VM, name: 'twice' }, { idempotencyKey: 'k-twice' });
    const a = await p.create(plan);
    const b = await p.create(await p.planCreate({ ...VM, name: 'twice' }, { idempotencyKey: 'k-twice' }));
    expect(b.id).toBe(a.id);
    expect(h.clouds.k0rdent!.http.requests.filter((q) => q.method === 'POST').map((q) => q.status)).toEqual([200, 409]);
    expect(h.clouds.k0rdent!.liveCount()).toBe(1);
    // Another key, same id: someone else's VM, refused.
    const other = await p.planCreate({ ...VM, name: 'twice' }, { idempotencyKey: 'k-other' });
    const stolen = {
      ...other,
      internal: { ...other.internal, body: { ...(other.internal.body as object), id: a.id } },
    };
    await expect(p.create(stolen)).rejects.toMatchObject({ code: 'CONFLICT' });
    expect(h.clouds.k0rdent!.liveCount()).toBe(1);
  });

  it('list_instances spans two pages of the cloud', async () => {
    h = await startHarness({ clouds: ['k0rdent'], elicit: yes });
    for (const name of ['a-1', 'a-2', 'a-3']) {
      const r = await h.call('create_vm', { ...VM, name });
      expect(r.isError, text(r)).toBeFalsy();
    }
    const first = sc<{ items: { id: string }[]; next_cursor?: string }>(
      await h.call('list_instances', { provider: 'k0rdent', limit: 2 }),
    );
    expect(first.items).toHaveLength(2);
    expect(first.next_cursor).toBeTruthy();
    const second = sc<{ items: { id: string }[]; next_cursor?: string }>(
      await h.call('list_instances', { provider: 'k0rdent', limit: 2, cursor: first.next_cursor }),
    );
    expect(second.items).toHaveLength(1);
    expect(second.next_cursor).toBeUndefined();
    const ids = [...first.items, ...second.items].map((i) => i.id);
    expect(new Set(ids).size).toBe(3);
    const pages = h.clouds.k0rdent!.http.requests.filter((q) => q.method === 'GET' && CREATE.test(q.path));
    expect(pages.map((q) => new URLSearchParams(q.query).has('pageToken'))).toEqual([false, true]);
  });

  it('prices: the emulator demo price is labelled emulator, the config price wins, GPUs come from the type', async () => {
    h = await startHarness({ clouds: ['k0rdent'], config: { prices: { k0rdent: { 'c1-small': 0.05 } } } });
    const r = sc<Types>(await h.call('list_instance_types', { provider: 'k0rdent', limit: 10 }));
    expect(r.items.find((t) => t.id === 'c1-small')!.price).toEqual({ usd_per_hour: 0.05, source: 'config' });
    expect(r.items.find((t) => t.id === 'c1-large')!.price).toEqual({ usd_per_hour: 0.32, source: 'emulator' });
    expect(r.items.find((t) => t.id === 'g1-xlarge')!.gpu).toEqual({ model: 'H100', memory_gib: 80, count: 1 });
  });

  it('snapshots are refused with the sentence, sending nothing', async () => {
    h = await startHarness({ clouds: ['k0rdent'] });
    const r = await h.call('snapshot', { provider: 'k0rdent', id: 'some-vm', name: 's' });
    expect(r.isError).toBe(true);
    expect(text(r)).toMatch(/^\[UNSUPPORTED\].*documents no snapshots/);
    expect(h.clouds.k0rdent!.http.requests).toEqual([]);
  });
});
