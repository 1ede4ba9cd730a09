/**
 * InstaVM through a real client: a create sends the lifetime the cloud enforces (and the VM is gone after it), a
 * blocking create is never held open, a lost create is found again by its key, pause is unsupported with what to do
 * instead, create from a snapshot works, get_console answers the SSH command, and a secret never shows.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { HttpClient } from '../../src/http/client.js';
import { InstavmProvider } from '../../src/providers/instavm/adapter.js';
import { InstavmEmulator } from '../../src/providers/instavm/emulator.js';
import type { InstavmRunningEmulator } from '../../src/providers/instavm/index.js';
import { startHarness, text, type Harness } from '../helpers/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});
const sc = <T = Record<string, unknown>>(r: { structuredContent?: unknown }) => r.structuredContent as T;
const yes = () => ({ action: 'accept' as const, content: { approve: true } });
const VM = { provider: 'instavm', instance_type: '2vcpu-4gb', name: 'sandbox' };
const em = () => h!.clouds.instavm as InstavmRunningEmulator;
const posts = () => em().http.requests.filter((r) => r.method === 'POST' && r.path === '/v1/vms');

async function create(args: Record<string, unknown> = {}): Promise<string> {
  const r = await h!.call('create_vm', { ...VM, ...args });
  expect(r.isError, text(r)).toBeFalsy();
  return sc<{ instance: { id: string } }>(r).instance.id;
}

describe('InstaVM through the tools', () => {
  it('create sends the lifetime (lifetime_hours 2 → vm_lifetime_seconds 7200, wait=false); get_instance says when it ends', async () => {
    h = await startHarness({ clouds: ['instavm'], elicit: yes });
    const dry = sc<{ summary: string; request: { path: string; body: Record<string, unknown> } }>(
      await h!.call('create_vm', { ...VM, lifetime_hours: 2, dry_run: true }),
    );
    expect(dry.request.path).toBe('/v1/vms?wait=false');
    expect(dry.request.body.vm_lifetime_seconds).toBe(7200);
    expect(dry.summary).toContain('ends this VM by itself 2 hours after it starts');
    const id = await create({ lifetime_hours: 2 });
    expect(posts()).toHaveLength(1);
    expect(posts()[0]!.query).toBe('?wait=false');
    expect(posts()[0]!.body).toMatchObject({ vm_lifetime_seconds: 7200, vcpu_count: 2, memory_mb: 4096 });
    const got = sc<{ instance: { created_at: string; expires_at: string; status: string } }>(
      await h!.call('get_instance', { provider: 'instavm', id }),
    ).instance;
    expect(got.status).toBe('running');
    expect(Date.parse(got.expires_at) - Date.parse(got.created_at)).toBe(7200 * 1000);
  });

  it('the emulated VM ends at its lifetime: terminated, and no longer listed', async () => {
    h = await startHarness({ clouds: ['instavm'], elicit: yes });
    const id = await create({ lifetime_hours: 1 });
    expect(em().liveCount()).toBe(1);
    em().advance(3600 * 1000 + 1); // the emulator's clock, not a sleep
    const w = sc<{ reached: boolean }>(
      await h!.call('wait_for_instance', { provider: 'instavm', id, status: 'terminated', timeout_seconds: 5 }),
    );
    expect(w.reached).toBe(true);
    const got = sc<{ instance: { status: string } }>(await h!.call('get_instance', { provider: 'instavm', id }));
    expect(got.instance.status).toBe('terminated');
    const list = sc<{ items: { id: string }[] }>(await h!.call('list_instances', { provider: 'instavm' }));
    expect(list.items.map((i) => i.id)).not.toContain(id);
    expect(em().liveCount()).toBe(0);
  });

  it('pause answers unsupported with the sentence that says what to do instead, and sends nothing', async () => {
    h = await startHarness({ clouds: ['instavm'], elicit: yes });
    const id = await create();
    const before = em().http.requests.length;
    const r = sc<{ results: { id: string; result: string; message: string }[] }>(
      await h!.call('pause_instances', { provider: 'instavm', ids: [id] }),
    );
    expect(r.results).toEqual([
      expect.objectContaining({
        id,
        result: 'unsupported',
        message: expect.stringContaining('snapshot it, delete it, and create a new VM from the snapshot'),
      }),
    ]);
    expect(em().http.requests.length).toBe(before);
  });

  it('snapshot, then create_vm from_snapshot boots a new VM from it', async () => {
    h = await startHarness({ clouds: ['instavm'], elicit: yes });
    const id = await create();
    const s = await h!.call('snapshot', { provider: 'instavm', id, name: 'configured' });
    expect(s.isError, text(s)).toBeFalsy();
    const snaps = sc<{ items?: { id: string; instance_id?: string; status: string }[]; snapshots?: unknown }>(
      await h!.call('list_snapshots', { provider: 'instavm' }),
    );
    const mine = JSON.stringify(snaps).match(/snap_[0-9a-f]{12}/)![0];
    const restored = await create({ name: 'restored', from_snapshot: mine });
    expect(posts().at(-1)!.body).toMatchObject({ snapshot_id: mine });
    expect(restored).not.toBe(id);
  });

  it('get_console answers the SSH command and says a key on the account is needed', async () => {
    h = await startHarness({ clouds: ['instavm'], elicit: yes });
    const id = await create();
    const r = await h!.call('get_console', { provider: 'instavm', id });
    expect(sc<{ console: { kind: string; command: string } }>(r).console).toMatchObject({
      kind: 'ssh',
      command: `ssh ${id}@instavm.dev`,
    });
    expect(text(r)).toContain('SSH key registered on the InstaVM account');
  });

  it('a create whose answer was lost is found again by its idempotency key (in metadata), never sent twice', async () => {
    h = await startHarness({ clouds: ['instavm'], elicit: yes, timeouts: { requestMs: 300 } });
    // The cloud makes the VM but the answer never arrives in time.
    em().http.injectFault({ method: 'POST', path: /^\/v1\/vms$/, delayMs: 600, times: 1 });
    const args = { ...VM, idempotency_key: 'lost-1' };
    const first = await h!.call('create_vm', args);
    expect(first.isError).toBe(true);
    await new Promise((r) => setTimeout(r, 400)); // the delayed create lands in the emulator
    expect(em().liveCount()).toBe(1);
    const again = sc<{ status: string; instance: { id: string } }>(await h!.call('create_vm', args));
    expect(again.status).toBe('existing');
    expect(posts()).toHaveLength(1);
    expect(posts()[0]!.body).toMatchObject({ metadata: { compute_mcp_idempotency_key: 'lost-1' } });
  });

  it('env cannot reach the adapter: create_vm has no env input, and a secret passed as one shows nowhere', async () => {
    h = await startHarness({ clouds: ['instavm'], elicit: yes });
    const secret = 'sk-live-SECRET-VALUE-123';
    const r = await h!.call('create_vm', { ...VM, env: { TOKEN: secret } });
    expect(r.isError).toBe(true);
    expect(JSON.stringify(r)).not.toContain(secret);
    expect(h!.logLines.join('\n')).not.toContain(secret);
    expect(JSON.stringify(em().http.requests)).not.toContain(secret);
    expect(posts()).toHaveLength(0);
  });
});

describe('the InstaVM emulator', () => {
  let e: InstavmEmulator | undefined;
  afterEach(async () => {
    await e?.stop();
    e = undefined;
  });
  const post = (body: unknown, headers: Record<string, string>, wait?: boolean) =>
    fetch(`${e!.baseUrl}/v1/vms${wait === undefined ? '' : `?wait=${wait}`}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });

  it('accepts X-API-Key and Bearer, refuses anything else with 401 {detail}', async () => {
    e = new InstavmEmulator();
    await e.start();
    expect((await post({}, { 'x-api-key': e.key })).status).toBe(200);
    expect((await post({}, { authorization: `Bearer ${e.key}` })).status).toBe(200);
    const bad = await post({}, { 'x-api-key': 'wrong' });
    expect(bad.status).toBe(401);
    expect(await bad.json()).toEqual({ detail: expect.any(String) });
  });

  it('answers 422 {detail: [{loc, msg, type}]} field by field', async () => {
    e = new InstavmEmulator();
    await e.start();
    const r = await post(
      { vcpu_count: 9, memory_mb: 'x', env: { A: 1 }, share: { is_public: true } },
      { 'x-api-key': e.key },
    );
    expect(r.status).toBe(422);
    const body = (await r.json()) as { detail: { loc: unknown[]; type: string }[] };
    expect(body.detail.map((d) => [d.loc.join('.'), d.type])).toEqual([
      ['body.vcpu_count', 'less_than_equal'],
      ['body.memory_mb', 'int_type'],
      ['body.env.A', 'string_type'],
      ['body.share.port', 'missing'],
    ]);
    expect(e.liveVms()).toEqual([]);
  });

  it('wait=true (the default) blocks until the VM runs; wait=false answers at once, provisioning', async () => {
    e = new InstavmEmulator({ delays: { createMs: 200 } });
    await e.start();
    let t = Date.now();
    const blocked = (await (await post({ vm_lifetime_seconds: 60 }, { 'x-api-key': e.key })).json()) as {
      status: string;
    };
    expect(Date.now() - t).toBeGreaterThanOrEqual(180);
    expect(blocked.status).toBe('running');
    t = Date.now();
    const quick = (await (await post({ vm_lifetime_seconds: 60 }, { 'x-api-key': e.key }, false)).json()) as {
      status: string;
    };
    expect(Date.now() - t).toBeLessThan(150);
    expect(quick.status).toBe('provisioning');
  });

  it('a create answered without vm_id is resolved by the adapter through its session', async () => {
    e = new InstavmEmulator({ nullVmId: true });
    await e.start();
    const p = new InstavmProvider({
      http: new HttpClient({ provider: 'instavm', baseUrl: e.baseUrl, headers: () => ({ 'x-api-key': e!.key }) }),
      resolvePollMs: 10,
    });
    const inst = await p.create(await p.planCreate({ instance_type: '1vcpu-1gb', name: 'n' }, { lifetimeHours: 1 }));
    expect(inst.id).toMatch(/^vm_/);
    expect(e.http.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST /v1/vms',
      'GET /v1/vms',
      `GET /v1/vms/${inst.id}`,
    ]);
  });

  it('snapshots become ready after their delay (lazily)', async () => {
    const clock = { now: 1_000_000 };
    e = new InstavmEmulator({ delays: { snapshotMs: 5_000 }, now: () => clock.now });
    await e.start();
    const vm = (await (await post({ vm_lifetime_seconds: 600 }, { 'x-api-key': e.key })).json()) as { vm_id: string };
    const s = await fetch(`${e.baseUrl}/v1/vms/${vm.vm_id}/snapshot?wait=false`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': e.key },
      body: JSON.stringify({ name: 'x' }),
    });
    const { snapshot_id } = (await s.json()) as { snapshot_id: string };
    const status = async () => {
      const all = (await (await fetch(`${e!.baseUrl}/v1/snapshots`, { headers: { 'x-api-key': e!.key } })).json()) as {
        snapshot_id: string;
        status: string;
      }[];
      return all.find((x) => x.snapshot_id === snapshot_id)!.status;
    };
    expect(await status()).toBe('creating');
    clock.now += 5_000;
    expect(await status()).toBe('ready');
  });
});
