/** The audit log: every change and every confirmation decision, before and after, 0600, without secrets. */
import { statSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AuditEntry } from '../../src/guardrails/audit.js';
import { CPU2, H100, SSH_KEY, startHarness, type Harness } from '../helpers/harness.js';

let h: Harness;
afterEach(async () => h?.close());
const sc = <T = Record<string, unknown>>(r: { structuredContent?: unknown }) => r.structuredContent as T;
const GPU = {
  provider: 'genesiscloud',
  instance_type: H100,
  name: 'train',
  ssh_public_key: SSH_KEY,
  startup_script: 'echo secret-ish',
};
const audit = () => h.state.lines<AuditEntry & { time: string }>('audit.jsonl');
const phases = (tool?: string) =>
  audit()
    .filter((e) => !tool || e.tool === tool)
    .map((e) => [e.phase, e.decision ?? e.status ?? e.error?.code ?? ''].join(':'));

describe('audit log', () => {
  it('records the token path of a create and a delete, line by line', async () => {
    h = await startHarness();
    const ask = sc<{ confirmation_token: string }>(await h.call('create_vm', GPU));
    const made = sc<{ instance: { id: string } }>(
      await h.call('create_vm', { ...GPU, confirmation_token: ask.confirmation_token }),
    );
    const del = sc<{ confirmation_token: string }>(
      await h.call('delete_vm', { provider: 'genesiscloud', id: made.instance.id }),
    );
    await h.call('delete_vm', {
      provider: 'genesiscloud',
      id: made.instance.id,
      confirmation_token: del.confirmation_token,
    });
    expect(phases('create_vm')).toEqual([
      'call:',
      'decision:confirmation_required',
      'result:confirmation_required',
      'call:',
      'decision:approved',
      'send:',
      'cloud:running',
      'result:created',
    ]);
    expect(phases('delete_vm')).toEqual([
      'call:',
      'decision:confirmation_required',
      'result:confirmation_required',
      'call:',
      'decision:approved',
      'send:',
      'cloud:deleting',
      'result:deleted',
    ]);
    const approved = audit().find((e) => e.decision === 'approved' && e.tool === 'create_vm')!;
    expect(approved).toMatchObject({
      how: 'token',
      provider: 'genesiscloud',
      quote: { usd_per_hour: 17.92, instance_type: H100 },
      time: expect.any(String),
    });
    const result = audit().find((e) => e.phase === 'cloud' && e.tool === 'create_vm')!;
    expect(result.instance_id).toBe(made.instance.id);
  });

  it('is 0600 and holds no secrets: no token, no key text, no script', async () => {
    h = await startHarness();
    const ask = sc<{ confirmation_token: string }>(await h.call('create_vm', GPU));
    await h.call('create_vm', { ...GPU, confirmation_token: ask.confirmation_token });
    const file = h.state.path('audit.jsonl');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(h.state.dir).mode & 0o777).toBe(0o700);
    const raw = JSON.stringify(audit());
    expect(raw).not.toContain(ask.confirmation_token);
    expect(raw).not.toContain('AAAAC3NzaC1lZDI1NTE5');
    expect(raw).not.toContain('echo secret-ish');
    expect(raw).toContain('"ssh_public_key":"sha256:');
    expect(raw).toContain('"startup_script":"<15 bytes>"');
  });

  it('records elicitation answers, policy denials and allows with their rule', async () => {
    h = await startHarness({
      elicit: () => ({ action: 'decline' }),
      config: { policy: { allow: { regions: ['NORD-*'] } } },
    });
    await h.call('create_vm', { ...GPU, region: 'NORD-NO-KRS-1' });
    await h.call('create_vm', { ...GPU, region: 'EUC-DE-MUC-1' });
    await h.call('create_vm', {
      provider: 'genesiscloud',
      instance_type: CPU2,
      name: 'cpu',
      ssh_public_key: SSH_KEY,
      region: 'NORD-NO-KRS-1',
    });
    const decisions = audit().filter((e) => e.phase === 'decision');
    expect(decisions.map((e) => [e.decision, e.how])).toEqual([
      ['declined', 'elicitation'],
      ['deny', 'policy'],
      ['allow', 'policy'],
    ]);
    expect(decisions[1]!.reason).toContain('policy.allow.regions');
  });

  it('writes the intent before the cloud is called, so a crash mid-call leaves it on disk', async () => {
    h = await startHarness();
    h.emulator.http.injectFault({ method: 'POST', path: /^\/compute\/v1\/instances$/, delayMs: 300, times: 1 });
    const pending = h.call('create_vm', {
      provider: 'genesiscloud',
      instance_type: CPU2,
      name: 'slow',
      ssh_public_key: SSH_KEY,
    });
    // The call is in flight (the cloud answers after 300 ms): the intent is on disk already.
    await vi.waitFor(() => expect(phases('create_vm')).toEqual(['call:', 'decision:allow', 'send:']), {
      timeout: 2_000,
      interval: 10,
    });
    expect(h.emulator.liveInstances()).toHaveLength(0);
    await pending;
    expect(phases('create_vm').slice(-2)).toEqual(['cloud:running', 'result:created']);
  });

  it('records other changes (pause, snapshot) with what they touched, and errors', async () => {
    h = await startHarness();
    const id = sc<{ instance: { id: string } }>(
      await h.call('create_vm', { provider: 'genesiscloud', instance_type: CPU2, name: 'c', ssh_public_key: SSH_KEY }),
    ).instance.id;
    await h.call('pause_instances', { provider: 'genesiscloud', ids: [id] });
    await h.call('snapshot', { provider: 'genesiscloud', id: '00000000-0000-4000-8000-000000000000', name: 's' });
    expect(audit().find((e) => e.tool === 'pause_instances' && e.phase === 'result')).toMatchObject({
      reason: `${id}: paused`,
    });
    expect(audit().find((e) => e.tool === 'snapshot' && e.phase === 'result')).toMatchObject({
      error: { code: 'NOT_FOUND' },
    });
    expect(audit().some((e) => e.tool === 'list_instances')).toBe(false); // reads are not audited
  });
});

describe('compute://policy and provision_gpu', () => {
  it('the resource shows the policy and limits in force, without secrets', async () => {
    h = await startHarness({ config: { policy: { limits: { maxGpusTotal: 16 }, readOnly: false } } });
    const r = await h.client.readResource({ uri: 'compute://policy' });
    const body = JSON.parse((r.contents[0] as { text: string }).text);
    expect(body.policy).toMatchObject({ limits: { maxGpusTotal: 16 }, confirm: { fallback: 'token' } });
    expect(body.providers[0]).toEqual({ id: 'genesiscloud', enabled: true, mode: 'emulated' });
    expect(JSON.stringify(body)).not.toMatch(/token"?:\s*"emulator-genesiscloud-token/);
    expect(JSON.stringify(body)).not.toContain('emulator-genesiscloud-token');
  });

  it('the prompt walks find → quote → yes → create → wait → access', async () => {
    h = await startHarness();
    const { prompts } = await h.client.listPrompts();
    expect(prompts.map((p) => p.name)).toEqual(['provision_gpu']);
    const p = await h.client.getPrompt({ name: 'provision_gpu', arguments: { gpu: 'H100', hours: '2' } });
    const t = (p.messages[0]!.content as { text: string }).text;
    for (const s of [
      'list_instance_types',
      'dry_run=true',
      'lifetime_hours=2',
      'confirmation_required',
      'wait_for_instance',
      'get_console',
    ])
      expect(t).toContain(s);
  });
});
