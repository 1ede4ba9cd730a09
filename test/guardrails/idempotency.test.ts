/** Idempotent creates across retries and restarts, counted on the emulator. */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { IdempotencyRecord } from '../../src/guardrails/idempotency.js';
import { GenesisEmulator } from '../../src/providers/genesiscloud/emulator.js';
import { StateDir } from '../../src/state/dir.js';
import { CPU2, H100, SSH_KEY, startHarness, text, type Harness } from '../helpers/harness.js';

let h: Harness;
let extra: (() => Promise<void>)[] = [];
afterEach(async () => {
  await h?.close();
  for (const x of extra) await x();
  extra = [];
});
const sc = <T = Record<string, unknown>>(r: { structuredContent?: unknown }) => r.structuredContent as T;
const ARGS = {
  provider: 'genesiscloud',
  instance_type: CPU2,
  name: 'idem',
  ssh_public_key: SSH_KEY,
  idempotency_key: 'job-42',
};
const posts = () => h.emulator.http.count('POST', '/compute/v1/instances');

async function sharedEmulator() {
  const em = new GenesisEmulator();
  await em.start();
  extra.push(() => em.stop());
  return em;
}

describe('idempotency_key', () => {
  it('a repeated call returns the same VM and says so', async () => {
    h = await startHarness();
    const a = sc<{ status: string; instance: { id: string } }>(await h.call('create_vm', ARGS));
    const b = sc<{ status: string; instance: { id: string }; message: string }>(await h.call('create_vm', ARGS));
    expect(a.status).toBe('created');
    expect(b).toMatchObject({
      status: 'existing',
      instance: { id: a.instance.id },
      message: expect.stringContaining('no new VM was created'),
    });
    expect(h.emulator.liveInstances()).toHaveLength(1);
    expect(posts()).toBe(1);
  });

  it('is recorded before the cloud is called, then completed', async () => {
    h = await startHarness();
    await h.call('create_vm', ARGS);
    const lines = h.state.lines<IdempotencyRecord>('idempotency.jsonl');
    expect(lines.map((l) => [l.key, l.status])).toEqual([
      ['job-42', 'pending'],
      ['job-42', 'created'],
    ]);
    expect(lines[1]!.instance_id).toBe(h.emulator.liveInstances()[0]!.id);
  });

  it('a key whose create may still be running in a process that lost the lock is not created again', async () => {
    const em = await sharedEmulator();
    em.http.injectFault({ method: 'POST', path: /^\/compute\/v1\/instances$/, delayMs: 1_500, times: 1 });
    h = await startHarness({ sharedEmulator: em });
    const other = await startHarness({ sharedEmulator: em, state: new StateDir(h.state.dir) });
    extra.push(() => other.close());
    const first = h.call('create_vm', ARGS);
    await vi.waitFor(() => expect(h.state.lines('idempotency.jsonl')).toHaveLength(1), {
      timeout: 5_000,
      interval: 10,
    });
    // The first process's lock is lost while its create runs (a holder stalled long enough to be taken for dead).
    rmSync(join(h.state.dir, 'spend.lock'), { force: true });
    const second = await other.call('create_vm', ARGS);
    expect(text(second)).toMatch(
      /^\[CONFLICT\] genesiscloud: a create with idempotency_key "job-42" started at .* may still be running; nothing was created/,
    );
    expect(sc(await first).status).toBe('created');
    expect(em.liveInstances()).toHaveLength(1);
    // Once that create has answered, the key answers with its VM everywhere.
    expect(sc(await other.call('create_vm', ARGS)).status).toBe('existing');
  });

  it('the same key with other arguments is refused', async () => {
    h = await startHarness();
    await h.call('create_vm', ARGS);
    const r = await h.call('create_vm', { ...ARGS, name: 'other' });
    expect(text(r)).toMatch(
      /^\[CONFLICT\] genesiscloud: idempotency_key "job-42" was already used with other arguments; nothing was created/,
    );
    expect(h.emulator.liveInstances()).toHaveLength(1);
  });

  it('holds across a server restart', async () => {
    const em = await sharedEmulator();
    h = await startHarness({ sharedEmulator: em });
    const state = h.state;
    const a = sc<{ instance: { id: string } }>(await h.call('create_vm', ARGS));
    await h.close();
    h = await startHarness({ sharedEmulator: em, state });
    const b = sc<{ status: string; instance: { id: string } }>(await h.call('create_vm', ARGS));
    expect(b).toMatchObject({ status: 'existing', instance: { id: a.instance.id } });
    expect(em.liveInstances()).toHaveLength(1);
  });

  it('a GPU create replayed after a restart answers with its VM without asking again', async () => {
    const em = await sharedEmulator();
    h = await startHarness({ sharedEmulator: em });
    const state = h.state;
    const gpu = { ...ARGS, instance_type: H100 };
    const ask = sc<{ confirmation_token: string }>(await h.call('create_vm', gpu));
    const made = sc<{ instance: { id: string } }>(
      await h.call('create_vm', { ...gpu, confirmation_token: ask.confirmation_token }),
    );
    await h.close();
    h = await startHarness({ sharedEmulator: em, state });
    expect(sc<{ status: string; instance: { id: string } }>(await h.call('create_vm', gpu))).toMatchObject({
      status: 'existing',
      instance: { id: made.instance.id },
    });
    // and the confirmation token, replayed after the restart, does the same
    expect(
      sc<{ status: string }>(await h.call('create_vm', { ...gpu, confirmation_token: ask.confirmation_token })).status,
    ).toBe('existing');
    expect(em.liveInstances()).toHaveLength(1);
  });

  it('after a create whose answer was lost on the wire, a retry finds that VM instead of making a second', async () => {
    h = await startHarness({ timeouts: { requestMs: 200 } });
    h.emulator.http.injectFault({ method: 'POST', path: /^\/compute\/v1\/instances$/, delayMs: 500, times: 1 });
    expect(text(await h.call('create_vm', ARGS))).toMatch(/^\[TIMEOUT\]/);
    // The cloud finishes the create after the client gave up.
    await vi.waitFor(() => expect(h.emulator.liveInstances()).toHaveLength(1), { timeout: 2_000, interval: 20 });
    const again = sc<{ status: string; instance: { id: string }; message: string }>(await h.call('create_vm', ARGS));
    expect(again).toMatchObject({
      status: 'existing',
      instance: { id: h.emulator.liveInstances()[0]!.id },
      message: expect.stringContaining('answer was lost'),
    });
    expect(h.emulator.liveInstances()).toHaveLength(1);
    expect(posts()).toBe(1);
  });

  it('after a lost answer that made nothing, a retry creates exactly one', async () => {
    h = await startHarness();
    h.emulator.http.injectFault({ method: 'POST', path: /^\/compute\/v1\/instances$/, status: 503, times: 1 });
    expect(text(await h.call('create_vm', ARGS))).toMatch(/^\[PROVIDER_UNAVAILABLE\]/);
    expect(sc<{ status: string }>(await h.call('create_vm', ARGS)).status).toBe('created');
    expect(h.emulator.liveInstances()).toHaveLength(1);
  });

  it('a key whose VM was deleted is refused with a hint', async () => {
    h = await startHarness({ config: { policy: { confirm: { delete: 'never' } } } });
    const a = sc<{ instance: { id: string } }>(await h.call('create_vm', ARGS));
    await h.call('delete_vm', { provider: 'genesiscloud', id: a.instance.id });
    await h.call('wait_for_instance', { provider: 'genesiscloud', id: a.instance.id, status: 'terminated' });
    expect(text(await h.call('create_vm', ARGS))).toMatch(
      /^\[CONFLICT\].*no longer exists; nothing was created\. Use a new idempotency_key/,
    );
    expect(h.emulator.liveInstances()).toHaveLength(0);
  });

  it('parallel calls with one key make one VM', async () => {
    h = await startHarness();
    const rs = await Promise.all(Array.from({ length: 5 }, () => h.call('create_vm', ARGS)));
    expect(rs.every((r) => !r.isError)).toBe(true);
    expect(new Set(rs.map((r) => sc<{ instance: { id: string } }>(r).instance.id)).size).toBe(1);
    expect(h.emulator.liveInstances()).toHaveLength(1);
  });
});
