/**
 * InstaVM wire format: every call's method, path, query, auth header and body against the documented format
 * (shared/seeds/instavm-create-vm.txt, providers.md §5) and the ASSUMPTIONs of src/providers/instavm/wire.ts, with msw
 * intercepting the global fetch.
 */
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Provider } from '../../src/domain/provider.js';
import { HttpClient } from '../../src/http/client.js';
import type { PriceTable } from '../../src/providers/cloud.js';
import { DEFAULT_LIFETIME_HOURS, InstavmProvider, NO_PAUSE } from '../../src/providers/instavm/adapter.js';
import { fastapiError, instavm } from '../../src/providers/instavm/index.js';
import { META } from '../../src/providers/instavm/map.js';

const BASE = 'https://api.instavm.io';
const KEY = 'instavm_sk_wire_test';

interface Seen {
  method: string;
  path: string;
  query: Record<string, string>;
  apiKey: string | null;
  authorization: string | null;
  body: unknown;
}
const server = setupServer();
let seen: Seen[] = [];
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterAll(() => server.close());
beforeEach(() => {
  seen = [];
  server.events.removeAllListeners();
  server.events.on('request:start', async ({ request }) => {
    const u = new URL(request.url);
    const text = await request.clone().text();
    seen.push({
      method: request.method,
      path: u.pathname,
      query: Object.fromEntries(u.searchParams),
      apiKey: request.headers.get('x-api-key'),
      authorization: request.headers.get('authorization'),
      body: text ? JSON.parse(text) : undefined,
    });
  });
});
afterEach(() => {
  server.resetHandlers();
  // Every call carries the X-API-Key header (seed 004), and nothing else as credentials.
  for (const r of seen) {
    expect(r.apiKey, `${r.method} ${r.path}`).toBe(KEY);
    expect(r.authorization, `${r.method} ${r.path}`).toBeNull();
  }
});

function adapter(prices: PriceTable = {}) {
  const { headers, secrets } = instavm.auth({ INSTAVM_API_KEY: KEY });
  const httpClient = new HttpClient({
    provider: 'instavm',
    baseUrl: BASE,
    headers: () => headers,
    secrets,
    parseError: fastapiError,
    retry: { baseDelayMs: 1, maxDelayMs: 2 },
  });
  return new InstavmProvider({ http: httpClient, prices, resolveAttempts: 3, resolvePollMs: 1 });
}

const VM = {
  vm_id: 'vm_123',
  session_id: 'sess-1',
  status: 'running',
  vcpu_count: 2,
  memory_mb: 4096,
  metadata: { [META.name]: 'box', [META.type]: '2vcpu-4gb', [META.key]: 'key-1' },
  created_at: '2026-11-28T10:00:00.000Z',
  vm_lifetime_seconds: 7200,
};
const SNAP = {
  snapshot_id: 'snap_abc',
  name: 'configured',
  status: 'ready',
  snapshot_type: 'user',
  oci_image: null,
  size_bytes: 2 * 2 ** 30,
  vm_id: 'vm_123',
};
const calls = () => seen.map((s) => `${s.method} ${s.path}`);

describe('InstaVM wire format', () => {
  it('list_instance_types: the named sizes, no API call, price from the table or unknown (never api)', async () => {
    const types = await adapter({ '2vcpu-4gb': { usd_per_hour: 0.17, source: 'config' } }).listInstanceTypes();
    expect(types.map((t) => t.id)).toEqual(['1vcpu-1gb', '2vcpu-2gb', '2vcpu-4gb', '4vcpu-8gb', '8vcpu-8gb']);
    expect(types.find((t) => t.id === '2vcpu-4gb')).toMatchObject({
      vcpus: 2,
      memory_gib: 4,
      gpu: null,
      regions: ['global'],
      price: { usd_per_hour: 0.17, source: 'config' },
    });
    expect(types.find((t) => t.id === '1vcpu-1gb')!.price).toEqual({ usd_per_hour: null, source: null });
    expect(types.every((t) => t.price.source !== 'api')).toBe(true);
    expect(seen).toEqual([]);
  });

  it('plans POST /v1/vms?wait=false with the lifetime in seconds, the size, and name/type/key in metadata', async () => {
    const plan = await adapter().planCreate(
      { instance_type: '2vcpu-4gb', name: 'box' },
      { lifetimeHours: 2, idempotencyKey: 'key-1' },
    );
    expect(plan.request).toEqual({
      method: 'POST',
      path: '/v1/vms?wait=false',
      body: {
        vm_lifetime_seconds: 7200,
        vcpu_count: 2,
        memory_mb: 4096,
        metadata: { [META.name]: 'box', [META.type]: '2vcpu-4gb', [META.key]: 'key-1' },
      },
    });
    expect(plan).toMatchObject({ region: 'global', image: 'default', price: { usd_per_hour: null, source: null } });
    expect(plan.notes!.join(' ')).toContain('ends this VM by itself 2 hours after it starts');
    expect(plan.notes!.join(' ')).toContain('prices.instavm["2vcpu-4gb"]');
    expect(seen).toEqual([]); // nothing read, nothing sent
  });

  it('without a planned lifetime the stated default applies, and the notes say so', async () => {
    const plan = await adapter().planCreate({ instance_type: '1vcpu-1gb', name: 'box' });
    expect(plan.request.body.vm_lifetime_seconds).toBe(DEFAULT_LIFETIME_HOURS * 3600);
    expect(plan.notes!.join(' ')).toMatch(/default of 1 hour applies/);
  });

  it('create sends the planned body once with wait=false, then reads the VM back', async () => {
    let posts = 0;
    server.use(
      http.post(`${BASE}/v1/vms`, () => {
        posts++;
        return HttpResponse.json({ vm_id: 'vm_123', session_id: 'sess-1', status: 'provisioning' });
      }),
      http.get(`${BASE}/v1/vms/vm_123`, () => HttpResponse.json(VM)),
    );
    const a = adapter();
    const plan = await a.planCreate({ instance_type: '2vcpu-4gb', name: 'box' }, { lifetimeHours: 2 });
    const inst = await a.create(plan);
    expect(posts).toBe(1);
    expect(calls()).toEqual(['POST /v1/vms', 'GET /v1/vms/vm_123']);
    expect(seen[0]!.query).toEqual({ wait: 'false' });
    expect(seen[0]!.body).toEqual(plan.internal.body);
    expect(inst).toMatchObject({
      id: 'vm_123',
      name: 'box',
      status: 'running',
      instance_type: '2vcpu-4gb',
      region: 'global',
      ssh: 'ssh vm_123@instavm.dev',
      expires_at: '2026-11-28T12:00:00.000Z',
    });
  });

  it('create from a snapshot checks it is ready (GET /v1/snapshots) and sends snapshot_id', async () => {
    server.use(
      http.get(`${BASE}/v1/snapshots`, () =>
        HttpResponse.json([SNAP, { ...SNAP, snapshot_id: 'snap_b', status: 'creating' }]),
      ),
    );
    const a = adapter();
    const plan = await a.planCreate(
      { instance_type: '1vcpu-1gb', name: 'box', from_snapshot: 'snap_abc' },
      { lifetimeHours: 1 },
    );
    expect(plan.request.body.snapshot_id).toBe('snap_abc');
    expect(plan.image).toBe('snap_abc');
    await expect(
      a.planCreate({ instance_type: '1vcpu-1gb', name: 'box', from_snapshot: 'snap_b' }),
    ).rejects.toMatchObject({ code: 'NOT_READY' });
    await expect(a.planCreate({ instance_type: '1vcpu-1gb', name: 'box', image: 'snap_none' })).rejects.toMatchObject({
      code: 'INVALID_INPUT',
    });
  });

  it('a create answered without vm_id is resolved through its session_id in GET /v1/vms', async () => {
    server.use(
      http.post(`${BASE}/v1/vms`, () =>
        HttpResponse.json({ vm_id: null, session_id: 'sess-1', status: 'provisioning' }),
      ),
      http.get(`${BASE}/v1/vms`, () => HttpResponse.json([{ ...VM, vm_id: 'vm_other', session_id: 'sess-0' }, VM])),
      http.get(`${BASE}/v1/vms/vm_123`, () => HttpResponse.json(VM)),
    );
    const a = adapter();
    const inst = await a.create(await a.planCreate({ instance_type: '2vcpu-4gb', name: 'box' }, { lifetimeHours: 2 }));
    expect(inst.id).toBe('vm_123');
    expect(calls()).toEqual(['POST /v1/vms', 'GET /v1/vms', 'GET /v1/vms/vm_123']);
  });

  it('a session that names no VM within the bound is NOT_READY (never a second POST)', async () => {
    server.use(
      http.post(`${BASE}/v1/vms`, () =>
        HttpResponse.json({ vm_id: null, session_id: 'sess-9', status: 'provisioning' }),
      ),
      http.get(`${BASE}/v1/vms`, () => HttpResponse.json([])),
    );
    const a = adapter();
    const plan = await a.planCreate({ instance_type: '1vcpu-1gb', name: 'box' }, { lifetimeHours: 1 });
    await expect(a.create(plan)).rejects.toMatchObject({
      code: 'NOT_READY',
      message: expect.stringContaining('sess-9'),
    });
    expect(calls().filter((c) => c.startsWith('POST'))).toHaveLength(1);
    expect(calls().filter((c) => c === 'GET /v1/vms')).toHaveLength(3);
  });

  it('a create that fails with 503 is not re-sent', async () => {
    server.use(http.post(`${BASE}/v1/vms`, () => HttpResponse.json({ detail: 'busy' }, { status: 503 })));
    const a = adapter();
    const plan = await a.planCreate({ instance_type: '1vcpu-1gb', name: 'box' }, { lifetimeHours: 1 });
    await expect(a.create(plan)).rejects.toMatchObject({ code: 'PROVIDER_UNAVAILABLE' });
    expect(calls()).toEqual(['POST /v1/vms']);
  });

  it('reads a 422 field by field', async () => {
    server.use(
      http.post(`${BASE}/v1/vms`, () =>
        HttpResponse.json(
          {
            detail: [
              { loc: ['body', 'vcpu_count'], msg: 'Input should be less than or equal to 8', type: 'less_than_equal' },
              { loc: ['body', 'share', 'port'], msg: 'Field required', type: 'missing' },
            ],
          },
          { status: 422 },
        ),
      ),
    );
    const a = adapter();
    const plan = await a.planCreate({ instance_type: '1vcpu-1gb', name: 'box' }, { lifetimeHours: 1 });
    const err = await a.create(plan).catch((e: unknown) => e);
    expect(String((err as Error).message)).toContain(
      'vcpu_count: Input should be less than or equal to 8; share.port: Field required',
    );
  });

  it('lists GET /v1/vms (no pagination on the wire) and pages it here by offset', async () => {
    const vms = [1, 2, 3].map((n) => ({ ...VM, vm_id: `vm_${n}`, metadata: { [META.name]: `n${n}` } }));
    server.use(http.get(`${BASE}/v1/vms`, () => HttpResponse.json(vms)));
    const a = adapter();
    const p1 = await a.listInstances({ limit: 2 });
    expect(p1.items.map((i) => i.id)).toEqual(['vm_1', 'vm_2']);
    expect(p1.next_cursor).toBe('2');
    const p2 = await a.listInstances({ limit: 2, cursor: p1.next_cursor });
    expect(p2.items.map((i) => [i.id, i.name])).toEqual([['vm_3', 'n3']]);
    expect(p2.next_cursor).toBeUndefined();
    expect(seen.every((s) => s.method === 'GET' && s.path === '/v1/vms' && Object.keys(s.query).length === 0)).toBe(
      true,
    );
  });

  it('get maps undocumented statuses to unknown, keeping the raw value; 404 is NOT_FOUND', async () => {
    server.use(
      http.get(`${BASE}/v1/vms/vm_123`, () => HttpResponse.json({ ...VM, status: 'hibernating' })),
      http.get(`${BASE}/v1/vms/vm_404`, () => HttpResponse.json({ detail: 'VM not found' }, { status: 404 })),
    );
    expect(await adapter().getInstance('vm_123')).toMatchObject({ status: 'unknown', provider_status: 'hibernating' });
    await expect(adapter().getInstance('vm_404')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('findByIdempotencyKey finds the VM whose metadata carries the key', async () => {
    server.use(http.get(`${BASE}/v1/vms`, () => HttpResponse.json([{ ...VM, vm_id: 'vm_x', metadata: {} }, VM])));
    expect((await adapter().findByIdempotencyKey('key-1'))?.id).toBe('vm_123');
    expect(await adapter().findByIdempotencyKey('key-2')).toBeUndefined();
  });

  it('delete: GET then DELETE /v1/vms/{id}; a terminated or unknown VM is already gone', async () => {
    server.use(
      http.get(`${BASE}/v1/vms/vm_123`, () => HttpResponse.json(VM)),
      http.delete(`${BASE}/v1/vms/vm_123`, () => new HttpResponse(null, { status: 204 })),
      http.get(`${BASE}/v1/vms/vm_done`, () => HttpResponse.json({ ...VM, vm_id: 'vm_done', status: 'terminated' })),
      http.get(`${BASE}/v1/vms/vm_404`, () => HttpResponse.json({ detail: 'VM not found' }, { status: 404 })),
    );
    expect(await adapter().delete('vm_123')).toEqual({ already_gone: false });
    expect(await adapter().delete('vm_done')).toEqual({ already_gone: true });
    expect(await adapter().delete('vm_404')).toEqual({ already_gone: true });
    expect(calls()).toEqual([
      'GET /v1/vms/vm_123',
      'DELETE /v1/vms/vm_123',
      'GET /v1/vms/vm_done',
      'GET /v1/vms/vm_404',
    ]);
  });

  it('snapshot: POST /v1/vms/{id}/snapshot?wait=false {name} → {snapshot_id, status}', async () => {
    server.use(
      http.post(`${BASE}/v1/vms/vm_123/snapshot`, () =>
        HttpResponse.json({ snapshot_id: 'snap_new', status: 'creating' }),
      ),
    );
    const s = await adapter().snapshot('vm_123', 'before');
    expect(seen[0]).toMatchObject({ query: { wait: 'false' }, body: { name: 'before' } });
    expect(s).toMatchObject({ id: 'snap_new', name: 'before', status: 'creating', instance_id: 'vm_123' });
  });

  it('list_snapshots and list_images come from GET /v1/snapshots (snapshot_id or id; ready ones are images)', async () => {
    server.use(
      http.get(`${BASE}/v1/snapshots`, () =>
        HttpResponse.json([
          SNAP,
          { id: 'snap_sys', name: 'python-3.11', status: 'ready', snapshot_type: 'system', oci_image: 'python:3.11' },
          { snapshot_id: 'snap_f', status: 'failed', vm_id: 'vm_9', last_error: 'boom' },
        ]),
      ),
    );
    const a = adapter();
    expect((await a.listSnapshots()).map((s) => [s.id, s.status])).toEqual([
      ['snap_abc', 'available'],
      ['snap_sys', 'available'],
      ['snap_f', 'error'],
    ]);
    expect((await a.listSnapshots({ instanceId: 'vm_123' })).map((s) => s.id)).toEqual(['snap_abc']);
    expect((await a.listImages()).map((i) => [i.id, i.kind])).toEqual([
      ['snap_abc', 'snapshot'],
      ['snap_sys', 'snapshot'],
    ]);
  });

  it('get_console: the SSH command (a key on the account), or the app URL of a shared port', async () => {
    server.use(
      http.get(`${BASE}/v1/vms/vm_123`, () => HttpResponse.json(VM)),
      http.get(`${BASE}/v1/vms/vm_web`, () =>
        HttpResponse.json({ ...VM, vm_id: 'vm_web', session_id: 'sess-web', share: { port: 3000, is_public: true } }),
      ),
      http.get(`${BASE}/v1/sessions/app-url/sess-web`, () =>
        HttpResponse.json({ url: 'https://sess-web.instavm.site', port: 3000, status: 'active' }),
      ),
    );
    const ssh = await adapter().getConsole('vm_123');
    expect(ssh.console).toEqual({
      provider: 'instavm',
      instance_id: 'vm_123',
      kind: 'ssh',
      command: 'ssh vm_123@instavm.dev',
    });
    expect(ssh.note).toContain('SSH key registered on the InstaVM account');
    const web = await adapter().getConsole('vm_web');
    expect(web.console).toMatchObject({ kind: 'url', url: 'https://sess-web.instavm.site' });
    expect(seen.find((s) => s.path === '/v1/sessions/app-url/sess-web')!.query).toEqual({ port: '3000' });
  });

  it('pause and resume are left out, with the sentence that says what to do instead', () => {
    const a: Provider = adapter();
    expect(a.pause).toBeUndefined();
    expect(a.resume).toBeUndefined();
    expect(a.capabilities.pause).toEqual({ unsupported: `${NO_PAUSE}.` });
    expect(NO_PAUSE).toMatch(/snapshot it, delete it, and create a new VM from the snapshot/);
  });

  it('refuses what the create cannot carry before sending anything', async () => {
    const a = adapter();
    for (const extra of [
      { region: 'eu' },
      { disk_gib: 10 },
      { startup_script: 'x' },
      { limit_price_usd: 1 },
      { ssh_public_key: 'ssh-ed25519 AAAA k' },
      { instance_type: '16vcpu-64gb' },
    ])
      await expect(a.planCreate({ instance_type: '1vcpu-1gb', name: 'b', ...extra })).rejects.toMatchObject({
        code: 'INVALID_INPUT',
      });
    expect(seen).toEqual([]);
  });
});
