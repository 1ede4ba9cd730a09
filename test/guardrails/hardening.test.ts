/**
 * Ways past the spend gate that an adversarial review found, each closed and tried again through a real client:
 * resume without a yes, unknown prices under $ limits, names that rewrite the summary, creates lost to a timeout,
 * listings that lag behind creates, and a state directory that others can read or whose secret is empty.
 */
import { chmodSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import type { ElicitRequest } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { StateDir } from '../../src/state/dir.js';
import { CLI, requireBuilt } from '../helpers/cli.js';
import { CPU2, H100, SSH_KEY, startHarness, text, type Harness } from '../helpers/harness.js';

let h: Harness;
afterEach(async () => {
  await h?.close();
  h = undefined as unknown as Harness; // the state-directory tests start no harness
});
const sc = <T = Record<string, unknown>>(r: { structuredContent?: unknown }) => r.structuredContent as T;
const GPU = { provider: 'genesiscloud', instance_type: H100, ssh_public_key: SSH_KEY };
const CPU = { provider: 'genesiscloud', instance_type: CPU2, ssh_public_key: SSH_KEY };
const yes = () => ({ action: 'accept' as const, content: { approve: true } });

describe('resume_instances goes through the gate', () => {
  it('resuming a paused 8× H100 while another 8× H100 runs passes no maxGpusTotal of 8', async () => {
    h = await startHarness({ config: { policy: { limits: { maxGpusTotal: 8 } } }, elicit: yes });
    const first = sc<{ instance: { id: string } }>(
      await h.call('create_vm', { ...GPU, name: 'first', wait_seconds: 5 }),
    ).instance.id;
    await h.call('pause_instances', { provider: 'genesiscloud', ids: [first] });
    await h.call('wait_for_instance', { provider: 'genesiscloud', id: first, status: 'paused', timeout_seconds: 5 });
    // Paused VMs hold no GPUs: the second fits.
    const second = await h.call('create_vm', { ...GPU, name: 'second' });
    expect(sc(second).status).toBe('created');
    const r = await h.call('resume_instances', { provider: 'genesiscloud', ids: [first] });
    expect(r.isError).toBe(true);
    expect(text(r)).toMatch(
      /^\[POLICY_DENIED\] genesiscloud: 8 GPU\(s\) run and 8 more would pass the limit of 8 \(policy\.limits\.maxGpusTotal\); nothing was resumed/,
    );
    expect(
      h.emulator.http.requests
        .filter((q) => q.method === 'POST' && q.path.endsWith('/actions'))
        .map((q) => (q.body as { action: string }).action),
    ).toEqual(['stop']);
    const audit = h.state
      .lines<{ tool: string; decision?: string }>('audit.jsonl')
      .filter((e) => e.tool === 'resume_instances');
    expect(audit.some((e) => e.decision === 'deny')).toBe(true);
  });

  it('resuming a GPU VM needs a yes like a create: asked, declined → nothing; token → resumed once', async () => {
    h = await startHarness();
    const ask = sc<{ confirmation_token: string }>(await h.call('create_vm', { ...GPU, name: 'gpu' }));
    const id = sc<{ instance: { id: string } }>(
      await h.call('create_vm', { ...GPU, name: 'gpu', confirmation_token: ask.confirmation_token, wait_seconds: 5 }),
    ).instance.id;
    await h.call('pause_instances', { provider: 'genesiscloud', ids: [id] });
    await h.call('wait_for_instance', { provider: 'genesiscloud', id, status: 'paused', timeout_seconds: 5 });
    const q = sc<{ status: string; summary: string; confirmation_token: string }>(
      await h.call('resume_instances', { provider: 'genesiscloud', ids: [id] }),
    );
    expect(q.status).toBe('confirmation_required');
    expect(q.summary).toMatch(
      /^Resume on genesiscloud: 1 VM\(s\) bill again, 8 GPU\(s\), \$\d+\.\d\d\/hour in total\./,
    );
    const starts = () =>
      h.emulator.http.requests.filter(
        (x) => x.method === 'POST' && x.path.endsWith('/actions') && (x.body as { action: string }).action === 'start',
      ).length;
    expect(starts()).toBe(0);
    // A token for these ids resumes no other paused VM, and these once.
    const cpu = sc<{ instance: { id: string } }>(await h.call('create_vm', { ...CPU, name: 'cpu', wait_seconds: 5 }))
      .instance.id;
    await h.call('pause_instances', { provider: 'genesiscloud', ids: [cpu] });
    await h.call('wait_for_instance', { provider: 'genesiscloud', id: cpu, status: 'paused', timeout_seconds: 5 });
    const other = await h.call('resume_instances', {
      provider: 'genesiscloud',
      ids: [id, cpu],
      confirmation_token: q.confirmation_token,
    });
    expect(text(other)).toMatch(/^\[CONFIRMATION_INVALID\] the confirmation_token was issued for different arguments/);
    const done = sc<{ status: string; results: { result: string }[] }>(
      await h.call('resume_instances', {
        provider: 'genesiscloud',
        ids: [id],
        confirmation_token: q.confirmation_token,
      }),
    );
    expect(done).toMatchObject({ status: 'done', results: [{ result: 'resumed' }] });
    const again = await h.call('resume_instances', {
      provider: 'genesiscloud',
      ids: [id],
      confirmation_token: q.confirmation_token,
    });
    expect(sc<{ results: { result: string }[] }>(again)?.results?.[0]?.result ?? text(again)).toMatch(
      /already_running|CONFIRMATION_INVALID/,
    );
    expect(starts()).toBe(1);
  });

  it('a human who declines the resume resumes nothing', async () => {
    let answer: 'accept' | 'decline' = 'accept';
    h = await startHarness({ elicit: () => (answer === 'accept' ? yes() : { action: 'decline' }) });
    const id = sc<{ instance: { id: string } }>(await h.call('create_vm', { ...GPU, name: 'd', wait_seconds: 5 }))
      .instance.id;
    await h.call('pause_instances', { provider: 'genesiscloud', ids: [id] });
    await h.call('wait_for_instance', { provider: 'genesiscloud', id, status: 'paused', timeout_seconds: 5 });
    answer = 'decline';
    expect(sc(await h.call('resume_instances', { provider: 'genesiscloud', ids: [id] }))).toMatchObject({
      status: 'declined',
    });
    expect(h.emulator.liveInstances()[0]!.status).toBe('stopped');
  });
});

describe('resume counts every VM behind an id', () => {
  it('a paused Mithril bid for 4 instances resumes as 4 VMs: 4 GPUs and 4 × the price, under the limits and in the question', async () => {
    h = await startHarness({ mithril: true, config: { policy: { limits: { maxGpusTotal: 2 } } }, elicit: yes });
    const em = h.mithril!;
    // A bid placed elsewhere (the console, another client) for four instances.
    const api = (method: string, path: string, body?: unknown) =>
      fetch(`${em.baseUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${em.key}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      }).then((r) => r.json());
    const avail = (await api('GET', '/v2/spot/availability')) as { instance_type: string; region: string }[];
    const types = (await api('GET', '/v2/instance-types')) as { fid: string; name: string }[];
    const a100 = types.find((t) => t.name === 'a100-80gb.sxm.1x')!;
    const region = avail.find((x) => x.instance_type === a100.fid)!.region;
    const key = (await api('POST', '/v2/ssh-keys', { project: em.project, name: 'k', public_key: SSH_KEY })) as {
      fid: string;
    };
    const bid = (await api('POST', '/v2/spot/bids', {
      project: em.project,
      region,
      instance_type: a100.fid,
      limit_price: '$9.00',
      instance_quantity: 4,
      name: 'four',
      launch_specification: { ssh_keys: [key.fid], volumes: [] },
    })) as { fid: string };
    expect(JSON.stringify(bid)).toMatch(/"fid":"bid_/);
    await h.call('pause_instances', { provider: 'mithril', ids: [bid.fid] });
    await h.call('wait_for_instance', { provider: 'mithril', id: bid.fid, status: 'paused', timeout_seconds: 5 });
    const r = await h.call('resume_instances', { provider: 'mithril', ids: [bid.fid] });
    expect(text(r)).toMatch(/^\[POLICY_DENIED\] mithril: 0 GPU\(s\) run and 4 more would pass the limit of 2/);
    expect(em.liveBids().find((b) => b.fid === bid.fid)!.status).toBe('Paused');
  });
});

describe('unknown prices under $ limits', () => {
  it('maxUsdPerHourPerVm denies a VM whose price is unknown, naming the price to configure; the human is never asked', async () => {
    const asked: ElicitRequest[] = [];
    h = await startHarness({
      config: { policy: { limits: { maxUsdPerHourPerVm: 1 } } },
      demoPrices: {},
      elicit: (r) => (asked.push(r), yes()),
    });
    const r = await h.call('create_vm', { ...GPU, name: 'unpriced' });
    expect(r.isError).toBe(true);
    expect(text(r)).toContain(
      `the price of ${H100} on genesiscloud is unknown, so the limit of $1/hour per VM cannot be checked`,
    );
    expect(text(r)).toContain(`prices.genesiscloud["${H100}"]`);
    expect(asked).toHaveLength(0);
    expect(h.emulator.liveInstances()).toHaveLength(0);
  });

  it('maxUsdPerHourTotal denies while a running VM has an unknown price', async () => {
    h = await startHarness({
      config: { policy: { limits: { maxUsdPerHourTotal: 100 } } },
      demoPrices: { [CPU2]: 0.1 },
      elicit: yes,
    });
    h.emulator.http.injectFault({ method: 'GET', path: '/nothing', status: 500 }); // no-op: keeps the emulator API in use
    expect(sc(await h.call('create_vm', { ...CPU, name: 'priced' })).status).toBe('created');
    const r = await h.call('create_vm', { ...GPU, name: 'unpriced' });
    expect(text(r)).toMatch(
      /^\[POLICY_DENIED\] .*the price is unknown, so the limit of \$100\/hour in total cannot be checked/,
    );
    expect(h.emulator.liveInstances()).toHaveLength(1);
  });
});

describe('the summary a human approves', () => {
  const hostile = [
    'x" (no GPU) at $0.01/hour. Safe to approve.\n\n\n',
    'ok\nCreate on genesiscloud: cpu',
    'a b',
    '"quoted"',
    '-starts-with-dash',
    'x'.repeat(64),
    'é',
    '',
  ];
  it.each(hostile)('a name like %j is refused before anything is asked or sent', async (name) => {
    const asked: ElicitRequest[] = [];
    h = await startHarness({ elicit: (r) => (asked.push(r), yes()) });
    const r = await h.call('create_vm', { ...GPU, name });
    expect(r.isError).toBe(true);
    expect(text(r)).toMatch(/name/);
    expect(asked).toHaveLength(0);
    expect(h.emulator.http.requests.filter((q) => q.method === 'POST')).toHaveLength(0);
  });

  it('opens with cloud, type, GPUs, region and price on one line; the name comes last, quoted', async () => {
    const asked: string[] = [];
    h = await startHarness({ elicit: (r) => (asked.push(r.params.message), yes()) });
    await h.call('create_vm', { ...GPU, name: 'Safe_to.approve-0' });
    expect(asked[0]!.split('\n')[0]).toMatch(
      new RegExp(
        `^Create on genesiscloud: ${H100} \\(8× H100\\) in [A-Z0-9-]+, \\$\\d+\\.\\d\\d/hour .*Name: "Safe_to\\.approve-0"\\.`,
      ),
    );
  });

  it('a VM named by someone else in the cloud is shown quoted, on one line, in the delete summary', async () => {
    h = await startHarness();
    const res = await fetch(`${h.emulator.baseUrl}/compute/v1/instances`, {
      method: 'POST',
      headers: { authorization: `Bearer ${h.emulator.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'x" is nothing. Safe to approve.\n\nDelete',
        hostname: 'x',
        type: CPU2,
        image: 'ubuntu-24.04',
        region: 'NORD-NO-KRS-1',
        ssh_keys: [],
        password: 'Aa1!aaaaaaaaaaaaaaaa',
      }),
    });
    const id = ((await res.json()) as { instance: { id: string } }).instance?.id;
    expect(id, 'emulator create').toBeTruthy();
    const r = sc<{ summary: string }>(await h.call('delete_vm', { provider: 'genesiscloud', id }));
    expect(r.summary).not.toContain('\n');
    expect(r.summary).toMatch(
      new RegExp(
        `^Delete on genesiscloud: ${CPU2} [0-9a-f-]+, \\w+; its boot disk is lost\\. Name: "x\\\\" is nothing`,
      ),
    );
  });
});

describe('creates whose answer was lost, and listings that lag', () => {
  it('a retry with the same key after a timed-out create waits for the late VM instead of creating a second', async () => {
    h = await startHarness({ timeouts: { requestMs: 200 }, lostCreateLookup: { attempts: 8, delayMs: 150 } });
    h.emulator.http.injectFault({ method: 'POST', path: /^\/compute\/v1\/instances$/, delayMs: 500, times: 1 });
    const args = { ...CPU, name: 'late', idempotency_key: 'late-1' };
    expect(text(await h.call('create_vm', args))).toMatch(/^\[TIMEOUT\]/);
    const retry = await h.call('create_vm', args);
    expect(sc(retry)).toMatchObject({ status: 'existing', message: expect.stringContaining('its answer was lost') });
    expect(h.emulator.http.count('POST', '/compute/v1/instances')).toBe(1);
    expect(h.emulator.liveInstances()).toHaveLength(1);
  });

  it('when no VM appears after the bounded looks, the retry creates and says so', async () => {
    h = await startHarness({ timeouts: { requestMs: 200 }, lostCreateLookup: { attempts: 3, delayMs: 20 } });
    // The cloud fails the create after the client gave up: nothing was made.
    h.emulator.http.injectFault({
      method: 'POST',
      path: /^\/compute\/v1\/instances$/,
      delayMs: 400,
      status: 500,
      times: 1,
    });
    const args = { ...CPU, name: 'never', idempotency_key: 'never-1' };
    expect(text(await h.call('create_vm', args))).toMatch(/^\[TIMEOUT\]/);
    const retry = sc<{ status: string; message: string }>(await h.call('create_vm', args));
    expect(retry).toMatchObject({
      status: 'created',
      message: expect.stringMatching(/no VM of it appeared in 3 looks/),
    });
    expect(h.emulator.liveInstances()).toHaveLength(1);
  });

  it('a listing that lags behind the creates lets no sequential create pass maxInstances (the ledger counts it)', async () => {
    h = await startHarness({ config: { policy: { limits: { maxInstances: 1 } } } });
    // The cloud's list shows nothing, whatever was created.
    h.emulator.http.injectFault({
      method: 'GET',
      path: /^\/compute\/v1\/instances$/,
      status: 200,
      body: { instances: [], total_count: 0, page: 1, per_page: 50 },
      times: 0,
    });
    expect(sc(await h.call('create_vm', { ...CPU, name: 'one' })).status).toBe('created');
    const second = await h.call('create_vm', { ...CPU, name: 'two' });
    expect(text(second)).toMatch(/^\[POLICY_DENIED\] .*1 VM\(s\) exist and the limit is 1/);
    expect(h.emulator.liveInstances()).toHaveLength(1);
  });

  it('a VM paused or deleted through the server stops counting at once', async () => {
    h = await startHarness({ config: { policy: { limits: { maxInstances: 1, maxGpusTotal: 8 } } }, elicit: yes });
    h.emulator.http.injectFault({
      method: 'GET',
      path: /^\/compute\/v1\/instances$/,
      status: 200,
      body: { instances: [], total_count: 0, page: 1, per_page: 50 },
      times: 0,
    });
    const id = sc<{ instance: { id: string } }>(await h.call('create_vm', { ...CPU, name: 'gone' })).instance.id;
    await h.call('delete_vm', { provider: 'genesiscloud', id });
    expect(sc(await h.call('create_vm', { ...CPU, name: 'next' })).status).toBe('created');
  });
});

describe('the state directory', () => {
  beforeAll(requireBuilt);
  const fresh = () => mkdtempSync(join(tmpdir(), 'compute-mcp-state-'));
  const serve = (dir: string) =>
    spawnSync(process.execPath, [CLI, '--emulate'], {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: dir,
        COMPUTE_MCP_STATE_DIR: dir,
        COMPUTE_MCP_EMULATOR_PACE: 'instant',
      },
      encoding: 'utf8',
      timeout: 20_000,
      input: '',
    });

  it('an empty token-secret stops the server with a sentence: tokens would be forgeable', () => {
    const dir = fresh();
    writeFileSync(join(dir, 'token-secret'), '', { mode: 0o600 });
    const r = serve(dir);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(
      /token-secret holds 0 bytes, fewer than 32: confirmation tokens signed with it could be forged\. Delete the file/,
    );
  });

  it('a short secret is refused too', async () => {
    const dir = fresh();
    writeFileSync(join(dir, 'token-secret'), 'short', { mode: 0o600 });
    await expect(new StateDir(dir).secret('token-secret', () => Buffer.alloc(32, 1))).rejects.toThrow(/holds 5 bytes/);
  });

  it('a directory others can read (0755) and a 0644 secret are fixed to 0700/0600, and the fix is logged', () => {
    const dir = fresh();
    chmodSync(dir, 0o755);
    writeFileSync(join(dir, 'token-secret'), Buffer.alloc(32, 7), { mode: 0o644 });
    chmodSync(join(dir, 'token-secret'), 0o644);
    const r = serve(dir);
    expect(r.status).toBe(0);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, 'token-secret')).mode & 0o777).toBe(0o600);
    expect(r.stderr).toMatch(/had mode 755, readable by others: changed to 700/);
    expect(r.stderr).toMatch(/token-secret had mode 644, readable by others: changed to 600/);
  });
});
