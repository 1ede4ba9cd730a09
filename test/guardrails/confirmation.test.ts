/**
 * The confirmation gate of create_vm and delete_vm: elicitation (accept, decline, cancel, timeout, error) and the
 * token path (success, reuse, changed argument, expiry, another server's token, fallback deny). Every refused case
 * asserts that no VM exists afterwards.
 */
import type { ElicitRequest } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfirmationTokens } from '../../src/guardrails/token.js';
import { CPU2, H100, SSH_KEY, startHarness, text, type Harness } from '../helpers/harness.js';

let h: Harness;
afterEach(async () => h?.close());

const GPU_ARGS = {
  provider: 'genesiscloud',
  instance_type: H100,
  name: 'train',
  ssh_public_key: SSH_KEY,
  lifetime_hours: 2,
};
const sc = <T = Record<string, unknown>>(r: { structuredContent?: unknown }) => r.structuredContent as T;
const vms = () => h.emulator.liveInstances().length;

describe('with a client that can elicit', () => {
  it('asks with the exact summary and creates on accept', async () => {
    const asked: ElicitRequest[] = [];
    h = await startHarness({ elicit: (req) => (asked.push(req), { action: 'accept', content: { approve: true } }) });
    const r = sc<{ status: string; approved_by: string; instance: { id: string } }>(
      await h.call('create_vm', GPU_ARGS),
    );
    expect(r).toMatchObject({ status: 'created', approved_by: 'elicitation' });
    expect(vms()).toBe(1);
    expect(asked).toHaveLength(1);
    const msg = asked[0]!.params.message;
    for (const part of [
      'genesiscloud',
      H100,
      '8× H100',
      '$17.92/hour',
      'a lease of 2 h',
      'about $35.84',
      'it has GPUs',
    ])
      expect(msg).toContain(part);
    expect(asked[0]!.params).toMatchObject({
      requestedSchema: { properties: { approve: { type: 'boolean' } }, required: ['approve'] },
    });
  });

  it.each([
    ['decline', { action: 'decline' as const }, 'said no'],
    ['cancel', { action: 'cancel' as const }, 'dismissed'],
    ['accept without approval', { action: 'accept' as const, content: { approve: false } }, 'said no'],
  ])('%s creates nothing and says so', async (_n, answer, says) => {
    h = await startHarness({ elicit: () => answer });
    const r = sc<{ status: string; message: string }>(await h.call('create_vm', GPU_ARGS));
    expect(r.status).toBe('declined');
    expect(r.message).toContain(says);
    expect(r.message).toContain('nothing was done');
    expect(vms()).toBe(0);
    expect(h.emulator.http.count('POST', /\/instances$/)).toBe(0);
  });

  it('a client that declares elicitation but errors creates nothing', async () => {
    h = await startHarness({
      elicit: () => {
        throw new Error('UI crashed');
      },
    });
    const r = sc<{ status: string; message: string }>(await h.call('create_vm', GPU_ARGS));
    expect(r).toMatchObject({ status: 'declined', message: expect.stringContaining('failed') });
    expect(vms()).toBe(0);
  });

  it('no answer before the timeout creates nothing', async () => {
    h = await startHarness({ elicit: () => new Promise(() => undefined), elicitTimeoutMs: 200 });
    const r = sc<{ status: string; message: string }>(await h.call('create_vm', GPU_ARGS));
    expect(r).toMatchObject({ status: 'declined', message: expect.stringContaining('in time') });
    expect(vms()).toBe(0);
  });

  it('a declined delete leaves the VM', async () => {
    h = await startHarness({
      elicit: (req) =>
        req.params.message.startsWith('Delete')
          ? { action: 'decline' }
          : { action: 'accept', content: { approve: true } },
    });
    const id = sc<{ instance: { id: string } }>(await h.call('create_vm', GPU_ARGS)).instance.id;
    const r = sc<{ status: string }>(await h.call('delete_vm', { provider: 'genesiscloud', id }));
    expect(r.status).toBe('declined');
    expect(vms()).toBe(1);
  });
});

describe('with a client that cannot elicit (token path)', () => {
  it('answers confirmation_required with a summary, then creates with the token', async () => {
    h = await startHarness();
    const ask = sc<{
      status: string;
      summary: string;
      confirmation_token: string;
      expires_at: string;
      quote: { usd_per_hour: number };
    }>(await h.call('create_vm', GPU_ARGS));
    expect(ask).toMatchObject({ status: 'confirmation_required', quote: { usd_per_hour: 17.92 } });
    expect(ask.summary).toContain('$17.92/hour');
    expect(Date.parse(ask.expires_at) - Date.now()).toBeGreaterThan(9 * 60_000);
    expect(vms()).toBe(0);
    const done = sc<{ status: string; approved_by: string }>(
      await h.call('create_vm', { ...GPU_ARGS, confirmation_token: ask.confirmation_token }),
    );
    expect(done).toMatchObject({ status: 'created', approved_by: 'token' });
    expect(vms()).toBe(1);
  });

  it('a reused token never creates twice: it answers with the VM it already made', async () => {
    h = await startHarness();
    const { confirmation_token } = sc<{ confirmation_token: string }>(await h.call('create_vm', GPU_ARGS));
    const first = sc<{ status: string; instance: { id: string } }>(
      await h.call('create_vm', { ...GPU_ARGS, confirmation_token }),
    );
    const again = sc<{ status: string; instance: { id: string }; message: string }>(
      await h.call('create_vm', { ...GPU_ARGS, confirmation_token }),
    );
    expect(again).toMatchObject({
      status: 'existing',
      instance: { id: first.instance.id },
      message: expect.stringContaining('no new VM was created'),
    });
    expect(vms()).toBe(1);
    expect(h.emulator.http.count('POST', '/compute/v1/instances')).toBe(1);
  });

  it('a reused token whose create was refused by the cloud is refused', async () => {
    h = await startHarness();
    const { confirmation_token } = sc<{ confirmation_token: string }>(await h.call('create_vm', GPU_ARGS));
    h.emulator.http.injectFault({
      method: 'POST',
      path: /\/instances$/,
      status: 400,
      body: { code: 'bad_request', message: 'no' },
    });
    expect(text(await h.call('create_vm', { ...GPU_ARGS, confirmation_token }))).toMatch(/^\[INVALID_INPUT\]/);
    const again = await h.call('create_vm', { ...GPU_ARGS, confirmation_token });
    expect(text(again)).toMatch(
      /^\[CONFIRMATION_INVALID\] genesiscloud: the confirmation_token was already used; nothing was done\./,
    );
    expect(vms()).toBe(0);
  });

  it.each([
    ['name', { name: 'other' }],
    ['lifetime', { lifetime_hours: 3 }],
    ['instance type', { instance_type: 'vcpu-4_memory-24g_disk-80g_nvidia3090-1' }],
    ['region', { region: 'NORD-NO-KRS-1' }],
    ['an added startup script', { startup_script: 'echo hi' }],
  ])('refuses the token when the %s changed', async (_n, change) => {
    h = await startHarness();
    const { confirmation_token } = sc<{ confirmation_token: string }>(await h.call('create_vm', GPU_ARGS));
    const r = await h.call('create_vm', { ...GPU_ARGS, ...change, confirmation_token });
    expect(text(r)).toMatch(/^\[CONFIRMATION_INVALID\] the confirmation_token was issued for different arguments/);
    expect(vms()).toBe(0);
  });

  it('refuses an expired token', async () => {
    let now = Date.now();
    h = await startHarness({ tokens: new ConfirmationTokens({ now: () => now }) });
    const { confirmation_token } = sc<{ confirmation_token: string }>(await h.call('create_vm', GPU_ARGS));
    now += 10 * 60_000 + 1;
    const r = await h.call('create_vm', { ...GPU_ARGS, confirmation_token });
    expect(text(r)).toMatch(/^\[CONFIRMATION_INVALID\] the confirmation_token has expired/);
    expect(vms()).toBe(0);
  });

  it('a token survives a restart with the same state directory (and its secret file is 0600)', async () => {
    h = await startHarness();
    const { confirmation_token } = sc<{ confirmation_token: string }>(await h.call('create_vm', GPU_ARGS));
    const state = h.state;
    const { statSync } = await import('node:fs');
    expect(statSync(state.path('token-secret')).mode & 0o777).toBe(0o600);
    await h.close();
    h = await startHarness({ state });
    expect(sc<{ status: string }>(await h.call('create_vm', { ...GPU_ARGS, confirmation_token })).status).toBe(
      'created',
    );
  });

  it('refuses a token issued with another state directory', async () => {
    h = await startHarness();
    const { confirmation_token } = sc<{ confirmation_token: string }>(await h.call('create_vm', GPU_ARGS));
    await h.close();
    h = await startHarness();
    const r = await h.call('create_vm', { ...GPU_ARGS, confirmation_token });
    expect(text(r)).toMatch(/^\[CONFIRMATION_INVALID\] the confirmation_token is not one this server issued/);
    expect(vms()).toBe(0);
  });

  it('with confirm.fallback "deny" refuses with a hint', async () => {
    h = await startHarness({ config: { policy: { confirm: { fallback: 'deny' } } } });
    const r = await h.call('create_vm', GPU_ARGS);
    expect(text(r)).toMatch(
      /^\[CONFIRMATION_UNAVAILABLE\] this client cannot ask a human.*Use a client with MCP elicitation/,
    );
    expect(vms()).toBe(0);
  });

  it('an unknown price always needs a yes, even for a CPU VM', async () => {
    h = await startHarness({ demoPrices: {} });
    const types = sc<{ items: { price: unknown }[] }>(await h.call('list_instance_types', { limit: 100 })).items;
    expect(types.every((t) => JSON.stringify(t.price) === '{"usd_per_hour":null,"source":null}')).toBe(true);
    const r = sc<{ status: string; summary: string }>(
      await h.call('create_vm', {
        provider: 'genesiscloud',
        instance_type: CPU2,
        name: 'cheap',
        ssh_public_key: SSH_KEY,
      }),
    );
    expect(r.status).toBe('confirmation_required');
    expect(r.summary).toContain('price unknown');
    expect(r.summary).toContain('the price is unknown');
    expect(vms()).toBe(0);
  });

  it('config prices replace the demo prices and are labelled as config', async () => {
    h = await startHarness({ config: { prices: { genesiscloud: { [CPU2]: 0.07 } } } });
    const r = sc<{ quote: { usd_per_hour: number; price_source: string } }>(
      await h.call('create_vm', {
        provider: 'genesiscloud',
        instance_type: CPU2,
        name: 'x',
        ssh_public_key: SSH_KEY,
        dry_run: true,
      }),
    );
    expect(r.quote).toMatchObject({ usd_per_hour: 0.07, price_source: 'config' });
  });
});
