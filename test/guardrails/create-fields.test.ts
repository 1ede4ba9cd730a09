/**
 * One list of create fields (domain/create.ts): every field a token is bound to is one the adapter gets, and every
 * field the adapter gets is bound and shown. A field cannot be approved and then dropped, or sent unapproved.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CREATE_FIELDS, createInputShape, requestOf } from '../../src/domain/create.js';
import type { CreatePlan, CreateRequest } from '../../src/domain/model.js';
import { H100, SSH_KEY, startHarness, text, type Harness } from '../helpers/harness.js';

let h: Harness;
afterEach(async () => h?.close());
const sc = <T = Record<string, unknown>>(r: { structuredContent?: unknown }) => r.structuredContent as T;

describe('create fields', () => {
  it('create_vm takes every request field, and requestOf gives the adapter exactly those', () => {
    const args = Object.fromEntries(
      Object.keys(createInputShape()).map((k) => [k, k === 'disk_gib' || k === 'limit_price' ? 1 : `v-${k}`]),
    );
    expect(Object.keys(requestOf({ ...args, provider: 'x', confirmation_token: 't', dry_run: true })).sort()).toEqual(
      Object.keys(CREATE_FIELDS).sort(),
    );
  });

  it('every field reaches the adapter as approved, and a field changed after the yes is refused', async () => {
    h = await startHarness();
    const seen: CreateRequest[] = [];
    const real = h.providers.get('genesiscloud');
    h.providers.replace(
      Object.assign(Object.create(Object.getPrototypeOf(real)), real, {
        planCreate: (req: CreateRequest, o?: object): Promise<CreatePlan> => (seen.push(req), real.planCreate(req, o)),
      }),
    );
    const base = {
      provider: 'genesiscloud',
      instance_type: H100,
      name: 'fields',
      ssh_public_key: SSH_KEY,
      disk_gib: 200,
      startup_script: 'echo hi',
    };
    const ask = sc<{ confirmation_token: string; summary: string }>(await h.call('create_vm', base));
    expect(ask.summary).toMatch(/With SSH key sha256:[0-9a-f]{16}, startup script of 7 bytes, boot disk 200 GiB\./);
    for (const change of [
      { disk_gib: 300 },
      { startup_script: 'rm -rf /' },
      { name: 'other' },
      { region: 'NORD-NO-KRS-1' },
      { image: 'ubuntu-24.04' },
    ]) {
      const r = await h.call('create_vm', { ...base, ...change, confirmation_token: ask.confirmation_token });
      expect(text(r), JSON.stringify(change)).toMatch(/^\[CONFIRMATION_INVALID\] .*issued for different arguments/);
    }
    // The image is what the plan resolved (the default here), shown too.
    expect(ask.summary).toMatch(/ Image [\w.-]+\. Name: "fields"\./);
    const made = await h.call('create_vm', { ...base, confirmation_token: ask.confirmation_token });
    expect(sc(made).status).toBe('created');
    expect(seen.at(-1)).toEqual({
      instance_type: H100,
      name: 'fields',
      ssh_public_key: SSH_KEY,
      disk_gib: 200,
      startup_script: 'echo hi',
    });
  });

  it('a cloud that labels VMs finds a lost create by its key (the hook), and gets the key when planning', async () => {
    h = await startHarness({ timeouts: { requestMs: 200 }, lostCreateLookup: { attempts: 2, delayMs: 20 } });
    const real = h.providers.get('genesiscloud');
    const keys: (string | undefined)[] = [];
    const byKey = new Map<string, string>();
    h.providers.replace(
      Object.assign(Object.create(Object.getPrototypeOf(real)), real, {
        planCreate: (req: CreateRequest, o?: { idempotencyKey?: string }) => (
          keys.push(o?.idempotencyKey),
          real.planCreate(req, o)
        ),
        findByIdempotencyKey: async (key: string) => {
          const id = byKey.get(key);
          return id ? real.getInstance(id) : undefined;
        },
      }),
    );
    h.emulator.http.injectFault({ method: 'POST', path: /^\/compute\/v1\/instances$/, delayMs: 400, times: 1 });
    const args = {
      provider: 'genesiscloud',
      instance_type: 'vcpu-2_memory-4g_disk-80g',
      name: 'labelled',
      ssh_public_key: SSH_KEY,
      idempotency_key: 'k-1',
    };
    expect(text(await h.call('create_vm', args))).toMatch(/^\[TIMEOUT\]/);
    expect(keys).toContain('k-1');
    // The cloud made it late, labelled with the key; the name-and-time match is not what finds it.
    await vi.waitFor(() => expect(h.emulator.liveInstances()).toHaveLength(1), { timeout: 2_000, interval: 20 });
    byKey.set('k-1', h.emulator.liveInstances()[0]!.id);
    h.emulator.liveInstances()[0]!.name = 'renamed-in-the-console';
    const again = sc<{ status: string; instance: { id: string } }>(await h.call('create_vm', args));
    expect(again).toMatchObject({ status: 'existing', instance: { id: byKey.get('k-1') } });
    expect(h.emulator.liveInstances()).toHaveLength(1);
  });

  it('the adapter is told the planned lifetime (for clouds that end VMs on time): the argument, else the policy maximum', async () => {
    h = await startHarness({ config: { policy: { limits: { maxLifetimeHours: 6 } } } });
    const real = h.providers.get('genesiscloud');
    const hours: (number | undefined)[] = [];
    h.providers.replace(
      Object.assign(Object.create(Object.getPrototypeOf(real)), real, {
        planCreate: (req: CreateRequest, o?: { lifetimeHours?: number }) => (
          hours.push(o?.lifetimeHours),
          real.planCreate(req, o)
        ),
      }),
    );
    const base = { provider: 'genesiscloud', instance_type: 'vcpu-2_memory-4g_disk-80g', ssh_public_key: SSH_KEY };
    await h.call('create_vm', { ...base, name: 'two', lifetime_hours: 2, dry_run: true });
    await h.call('create_vm', { ...base, name: 'dflt', dry_run: true });
    expect(hours).toEqual([2, 6]);
  });
});
