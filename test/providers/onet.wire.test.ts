/**
 * ONET Solutions wire format: every call's method, path, query, auth header and body against the documented format
 * (shared/seeds/onet-console-and-instance.txt, providers.md §1) and the ASSUMPTIONs of src/providers/onet/wire.ts,
 * with msw intercepting the global fetch.
 */
import { http, HttpResponse } from 'msw';
import { describe, expect, it, vi } from 'vitest';
import { wireServer } from '../helpers/wire.js';
import { HttpClient } from '../../src/http/client.js';
import { OnetProvider, SUSPENDED } from '../../src/providers/onet/adapter.js';
import { drfError } from '../../src/providers/onet/index.js';
import type { PriceTable } from '../../src/providers/onet/map.js';
import instanceFx from '../../src/providers/onet/fixtures/instance.json' with { type: 'json' };
import sessionFx from '../../src/providers/onet/fixtures/console-session.json' with { type: 'json' };

const BASE = 'https://api.onetsolutions.net';
const TOKEN = 'sk-onetsolutions-wire-test';
const ORG = '11111111-1111-4111-8111-111111111111';
const PROJECT = '22222222-2222-4222-8222-222222222222';
const SCOPE = `/v1/organizations/${ORG}/projects/${PROJECT}/compute`;
const API = `${BASE}${SCOPE}`;
const ID = instanceFx.id;
const KEY_ID = '45bcd3ac-fccd-4eea-a812-21f01d665464';
const PUBKEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIWireTest wire@test';

const { server, state } = wireServer(`Bearer ${TOKEN}`);

function adapter(prices: PriceTable = {}, extra: { consoleWaitMs?: number; now?: () => number } = {}) {
  const httpClient = new HttpClient({
    provider: 'onet',
    baseUrl: BASE,
    headers: () => ({ authorization: `Bearer ${TOKEN}` }),
    parseError: drfError,
    retry: { baseDelayMs: 1, maxDelayMs: 2 },
  });
  return new OnetProvider({
    http: httpClient,
    organization: ORG,
    project: PROJECT,
    prices,
    consolePollMs: 5,
    ...extra,
  });
}

const page = (results: unknown[], next: string | null = null) => ({
  count: results.length,
  next,
  previous: null,
  results,
});
const SIZE = instanceFx.size;
const MONTHLY_ONLY = {
  ...SIZE,
  id: '6c90c3cc-0d44-4b50-8888-8dd25736052a',
  slug: 'vps-xl8',
  name: 'VPS XL8',
  vcpu: 8,
  ram_mb: 16384,
  pricing_options: SIZE.pricing_options.filter((o) => o.billing_cycle !== 'hourly'),
};
const LOCATION = instanceFx.location;
const IMAGE = instanceFx.image;
const withStatus = (status: string, vm: string | null, more: Record<string, unknown> = {}) => ({
  ...instanceFx,
  status,
  state_sync: vm ? { ...instanceFx.state_sync, vm_status: vm } : null,
  ...more,
});
const catalog = () => [
  http.get(`${API}/sizes`, () => HttpResponse.json(page([SIZE, MONTHLY_ONLY]))),
  http.get(`${API}/locations`, () => HttpResponse.json(page([LOCATION]))),
  http.get(`${API}/images`, () => HttpResponse.json(page([IMAGE]))),
];
const calls = () => state.seen.map((s) => `${s.method} ${s.path}`);

describe('ONET Solutions wire format', () => {
  it('lists sizes as instance types: vCPUs, RAM in GiB, the default disk, no GPU, no USD price unless configured', async () => {
    server.use(...catalog());
    const types = await adapter({ 'vps-m2': { usd_per_hour: 0.016, source: 'config' } }).listInstanceTypes();
    expect(state.seen.map((s) => [s.method, s.path, s.query])).toEqual([
      ['GET', `${SCOPE}/sizes`, { page: '1', page_size: '100' }],
      ['GET', `${SCOPE}/locations`, { page: '1', page_size: '100' }],
    ]);
    expect(types).toEqual([
      {
        provider: 'onet',
        id: 'vps-m2',
        name: 'VPS M2',
        gpu: null,
        vcpus: 2,
        memory_gib: 4,
        disk_gib: 80,
        price: { usd_per_hour: 0.016, source: 'config' },
        regions: ['fr-par-1'],
      },
      {
        provider: 'onet',
        id: 'vps-xl8',
        name: 'VPS XL8',
        gpu: null,
        vcpus: 8,
        memory_gib: 16,
        disk_gib: 80,
        // ONET's own "9.99" monthly price is in an unstated currency: never shown as USD.
        price: { usd_per_hour: null, source: null },
        regions: ['fr-par-1'],
        available: false,
      },
    ]);
  });

  it('follows DRF pages (`next`) through a catalog list', async () => {
    server.use(
      http.get(`${API}/images`, ({ request }) =>
        new URL(request.url).searchParams.get('page') === '1'
          ? HttpResponse.json(page([IMAGE], `${API}/images?page=2&page_size=100`))
          : HttpResponse.json(page([{ ...IMAGE, id: 'x', slug: 'debian-12', name: 'Debian 12' }])),
      ),
    );
    const images = await adapter().listImages();
    expect(state.seen.map((s) => s.query.page)).toEqual(['1', '2']);
    expect(images.map((i) => i.id)).toEqual(['ubuntu-24-04', 'debian-12']);
  });

  it('reads the pages after the first at once, their number from `count` over the first page (not one by one)', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const locations = ['fr-par-1', 'fr-par-2', 'fr-lil-1'].map((slug, k) => ({ ...LOCATION, id: `loc-${k}`, slug }));
    server.use(
      http.get(`${API}/sizes`, () => HttpResponse.json(page([SIZE]))),
      http.get(`${API}/locations`, async ({ request }) => {
        const n = Number(new URL(request.url).searchParams.get('page'));
        if (n > 1) await held;
        // DRF may serve fewer than the page_size asked: one location a page here, three in all.
        return HttpResponse.json({
          ...page([locations[n - 1]], n < 3 ? `${API}/locations?page=${n + 1}` : null),
          count: 3,
        });
      }),
    );
    const types = adapter().listInstanceTypes();
    const pages = () => state.seen.filter((s) => s.path.endsWith('/locations')).map((s) => s.query.page);
    await vi.waitFor(() => expect(pages()).toEqual(['1', '2', '3'])); // page 3 asked before page 2 answered
    release();
    expect((await types)[0]!.regions).toEqual(['fr-par-1', 'fr-par-2', 'fr-lil-1']);
  });

  it('lists instances with page/page_size and maps the documented example: two statuses, the primary IPv4', async () => {
    server.use(
      http.get(`${API}/instances`, () => HttpResponse.json({ ...page([instanceFx], `${API}/instances?page=2`) })),
    );
    const r = await adapter().listInstances({ limit: 1 });
    expect(state.seen).toEqual([
      {
        method: 'GET',
        path: `${SCOPE}/instances`,
        query: { page: '1', page_size: '1' },
        auth: `Bearer ${TOKEN}`,
        body: undefined,
      },
    ]);
    expect(r.next_cursor).toBe('2');
    expect(r.items[0]).toEqual({
      provider: 'onet',
      id: ID,
      name: 'web-1',
      status: 'running',
      provider_status: 'active/running',
      instance_type: 'vps-m2',
      region: 'fr-par-1',
      gpu: null,
      // primary_ipv4 holds a UUID; the address is the ip_addresses entry marked is_primary (not the first entry).
      public_ip: '203.0.113.10',
      ssh: 'ssh root@203.0.113.10',
      private_ip: '10.20.0.10',
      created_at: instanceFx.created,
      price_usd_per_hour: null,
    });
  });

  it('maps billing status and power state apart (providers.md §6.1)', async () => {
    const cases: [string, string | null, string, string][] = [
      ['pending', null, 'pending', 'pending'],
      ['provisioning', null, 'pending', 'provisioning'],
      ['active', 'running', 'running', 'active/running'],
      ['active', 'stopped', 'paused', 'active/stopped'],
      ['active', null, 'unknown', 'active'],
      ['suspended', 'stopped', 'paused', 'suspended/stopped'],
      ['cancelled', 'stopped', 'terminated', 'cancelled/stopped'],
      ['terminated', null, 'terminated', 'terminated'],
      ['on_fire', null, 'unknown', 'on_fire'],
    ];
    for (const [status, vm, domain, raw] of cases) {
      server.use(http.get(`${API}/instances/:id`, () => HttpResponse.json(withStatus(status, vm))));
      expect(await adapter().getInstance(ID), `${status}/${vm}`).toMatchObject({
        status: domain,
        provider_status: raw,
      });
    }
    expect(calls().every((c) => c === `GET ${SCOPE}/instances/${ID}`)).toBe(true);
  });

  it('creates hourly only: registers the SSH key (POST /compute/ssh-keys), then POSTs the body once', async () => {
    server.use(
      ...catalog(),
      http.get(`${API}/ssh-keys`, () => HttpResponse.json(page([]))),
      http.post(`${API}/ssh-keys`, () =>
        HttpResponse.json({ id: KEY_ID, name: 'k', public_key: PUBKEY }, { status: 201 }),
      ),
      http.post(`${API}/instances`, () => HttpResponse.json(withStatus('pending', null), { status: 201 })),
    );
    const a = adapter();
    const plan = await a.planCreate({ instance_type: 'vps-m2', name: 'Web 1', ssh_public_key: PUBKEY });
    expect(state.seen.filter((s) => s.method !== 'GET')).toEqual([]);
    expect(plan).toMatchObject({ region: 'fr-par-1', image: 'ubuntu-24-04', price: { usd_per_hour: null } });
    expect(plan.notes!.join(' ')).toContain('0.014 per hour in a currency its API does not state');
    expect(plan.notes!.join(' ')).toContain('prices.onet["vps-m2"]');
    state.seen = [];
    const inst = await a.create(plan);
    expect(calls()).toEqual([`POST ${SCOPE}/ssh-keys`, `POST ${SCOPE}/instances`]);
    expect(state.seen[0]!.body).toEqual({
      name: expect.stringMatching(/^compute-mcp-[0-9a-f]{12}$/),
      public_key: PUBKEY,
    });
    expect(state.seen[1]!.body).toEqual({
      name: 'Web 1',
      hostname: 'web-1',
      size_id: SIZE.id,
      location_id: LOCATION.id,
      image_id: IMAGE.id,
      billing_cycle: 'hourly',
      ssh_key_ids: [KEY_ID],
    });
    expect(inst).toMatchObject({ id: ID, status: 'pending', provider_status: 'pending' });
  });

  it('reuses a key the project already has', async () => {
    server.use(
      ...catalog(),
      http.get(`${API}/ssh-keys`, () => HttpResponse.json(page([{ id: KEY_ID, name: 'k', public_key: PUBKEY }]))),
    );
    const plan = await adapter().planCreate({ instance_type: 'vps-m2', name: 'x', ssh_public_key: PUBKEY });
    expect((plan.request.body as { ssh_key_ids: string[] }).ssh_key_ids).toEqual([KEY_ID]);
    expect(plan.preparatory_steps).toEqual([]);
  });

  it('refuses, sending nothing: a size without an active hourly option, from_snapshot, a startup script', async () => {
    server.use(...catalog());
    const a = adapter();
    await expect(a.planCreate({ instance_type: 'vps-xl8', name: 'x', ssh_public_key: PUBKEY })).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      message: expect.stringContaining('cannot be bought by the hour on ONET (it is sold monthly)'),
    });
    await expect(
      a.planCreate({ instance_type: 'vps-m2', name: 'x', from_snapshot: ID, ssh_public_key: PUBKEY }),
    ).rejects.toMatchObject({ code: 'INVALID_INPUT', message: expect.stringContaining('not into a new VM') });
    await expect(
      a.planCreate({ instance_type: 'vps-m2', name: 'x', startup_script: 'echo', ssh_public_key: PUBKEY }),
    ).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    expect(state.seen.filter((s) => s.method !== 'GET')).toEqual([]);
  });

  it('pauses and resumes through POST …/stop and …/start (202 + Task)', async () => {
    const task = (type: string) => ({ id: KEY_ID, instance_id: ID, task_type: type, status: 'pending' });
    server.use(
      http.get(`${API}/instances/:id`, () => HttpResponse.json(withStatus('active', 'running'))),
      http.post(`${API}/instances/:id/stop`, () => HttpResponse.json(task('stop_vps'), { status: 202 })),
    );
    expect(await adapter().pause([ID])).toEqual([{ id: ID, result: 'paused', status: 'stopping' }]);
    expect(calls()).toEqual([`GET ${SCOPE}/instances/${ID}`, `POST ${SCOPE}/instances/${ID}/stop`]);
    state.seen = [];
    server.use(
      http.get(`${API}/instances/:id`, () => HttpResponse.json(withStatus('active', 'stopped'))),
      http.post(`${API}/instances/:id/start`, () => HttpResponse.json(task('start_vps'), { status: 202 })),
    );
    expect(await adapter().resume([ID])).toEqual([{ id: ID, result: 'resumed', status: 'starting' }]);
    expect(calls()).toEqual([`GET ${SCOPE}/instances/${ID}`, `POST ${SCOPE}/instances/${ID}/start`]);
  });

  it('never resumes a suspended instance (reactivation charges money): unsupported, with the bill sentence', async () => {
    server.use(http.get(`${API}/instances/:id`, () => HttpResponse.json(withStatus('suspended', 'stopped'))));
    expect(await adapter().resume([ID])).toEqual([
      { id: ID, result: 'unsupported', status: 'paused', message: SUSPENDED },
    ]);
    expect(SUSPENDED).toContain('Settle the bill in the ONET console');
    expect(calls()).toEqual([`GET ${SCOPE}/instances/${ID}`]); // no /start, no /unsuspend
  });

  it('deletes: DELETE, then reads billing_end_date and says when billing ends', async () => {
    const now = Date.parse('2025-06-01T10:20:00Z');
    let cancelled = false;
    server.use(
      http.get(`${API}/instances/:id`, () =>
        HttpResponse.json(
          cancelled
            ? withStatus('cancelled', 'stopped', {
                cancellation_requested_at: '2025-06-01T10:20:00Z',
                billing_end_date: '2025-06-01T11:00:00Z',
              })
            : withStatus('active', 'running'),
        ),
      ),
      http.delete(`${API}/instances/:id`, () => {
        cancelled = true;
        return new HttpResponse(null, { status: 204 });
      }),
    );
    const a = adapter({}, { now: () => now });
    expect(await a.delete(ID)).toEqual({ already_gone: false, billing_ends_at: '2025-06-01T11:00:00Z' });
    expect(calls()).toEqual([
      `GET ${SCOPE}/instances/${ID}`,
      `DELETE ${SCOPE}/instances/${ID}`,
      `GET ${SCOPE}/instances/${ID}`,
    ]);
    // Cancelled already: nothing is sent again.
    state.seen = [];
    expect(await a.delete(ID)).toEqual({ already_gone: true });
    expect(calls()).toEqual([`GET ${SCOPE}/instances/${ID}`]);
    // The instance itself shows it too (the gate's summary reads it).
    expect((await a.getInstance(ID)).billing_ends_at).toBe('2025-06-01T11:00:00Z');
  });

  it('a delete of an unknown id is already gone (404 {detail})', async () => {
    server.use(http.get(`${API}/instances/:id`, () => HttpResponse.json({ detail: 'Not found.' }, { status: 404 })));
    expect(await adapter().delete(ID)).toEqual({ already_gone: true });
  });

  it('console: POST …/console, then GET …/console/{session_id} until a URL, accepting the Instance-shaped body', async () => {
    let reads = 0;
    server.use(
      http.post(`${API}/instances/:id/console`, () =>
        HttpResponse.json({ ...sessionFx, status: 'pending', url: null }, { status: 201 }),
      ),
      http.get(`${API}/instances/:id/console/:session`, () =>
        // The documented answer is the Instance schema (no URL); the assumed one is a session.
        HttpResponse.json(++reads < 2 ? instanceFx : sessionFx),
      ),
    );
    const c = await adapter().getConsole(ID);
    expect(c.console).toEqual({ provider: 'onet', instance_id: ID, kind: 'vnc', url: sessionFx.url });
    expect(c.console).not.toHaveProperty('expires_at'); // no expiry promised
    expect(calls()).toEqual([
      `POST ${SCOPE}/instances/${ID}/console`,
      `GET ${SCOPE}/instances/${ID}/console/${sessionFx.id}`,
      `GET ${SCOPE}/instances/${ID}/console/${sessionFx.id}`,
    ]);
  });

  it('console: bounded in time; answers NOT_READY with the session id, and the next call reads the same session', async () => {
    let ready = false;
    server.use(
      http.post(`${API}/instances/:id/console`, () =>
        HttpResponse.json({ ...sessionFx, status: 'pending', url: null }, { status: 201 }),
      ),
      http.get(`${API}/instances/:id/console/:session`, () =>
        HttpResponse.json(ready ? sessionFx : { ...sessionFx, status: 'pending', url: null }),
      ),
    );
    const a = adapter({}, { consoleWaitMs: 40 });
    await expect(a.getConsole(ID)).rejects.toMatchObject({
      code: 'NOT_READY',
      message: expect.stringContaining(sessionFx.id),
      hint: expect.stringContaining('Call get_console again'),
    });
    ready = true;
    state.seen = [];
    expect((await a.getConsole(ID)).console.url).toBe(sessionFx.url);
    expect(calls()).toEqual([`GET ${SCOPE}/instances/${ID}/console/${sessionFx.id}`]); // no second session
  });

  it('snapshots: POST and GET …/instances/{id}/snapshots', async () => {
    const snap = {
      id: KEY_ID,
      name: 's1',
      instance_id: ID,
      status: 'creating',
      size_gb: 80,
      created: '2025-01-01T00:00:00Z',
    };
    server.use(
      http.post(`${API}/instances/:id/snapshots`, () => HttpResponse.json(snap, { status: 201 })),
      http.get(`${API}/instances/:id/snapshots`, () => HttpResponse.json(page([{ ...snap, status: 'available' }]))),
    );
    const a = adapter();
    expect(await a.snapshot(ID, 's1')).toMatchObject({ id: KEY_ID, status: 'creating', instance_id: ID, size_gib: 80 });
    expect(state.seen[0]).toMatchObject({
      method: 'POST',
      path: `${SCOPE}/instances/${ID}/snapshots`,
      body: { name: 's1' },
    });
    expect((await a.listSnapshots({ instanceId: ID }))[0]).toMatchObject({
      status: 'available',
      provider_status: 'available',
    });
  });

  it('lists every snapshot by asking each instance that still exists (snapshots are per instance)', async () => {
    const other = { ...withStatus('cancelled', 'stopped'), id: '9c90c3cc-0d44-4b50-8888-8dd25736052a' };
    server.use(
      http.get(`${API}/instances`, () => HttpResponse.json(page([instanceFx, other]))),
      http.get(`${API}/instances/:id/snapshots`, ({ params }) =>
        HttpResponse.json(page([{ id: KEY_ID, name: 's', instance_id: params.id, status: 'available' }])),
      ),
    );
    const all = await adapter().listSnapshots();
    expect(calls()).toEqual([`GET ${SCOPE}/instances`, `GET ${SCOPE}/instances/${ID}/snapshots`]);
    expect(all).toEqual([
      { provider: 'onet', id: KEY_ID, name: 's', status: 'available', provider_status: 'available', instance_id: ID },
    ]);
  });

  it('reads DRF errors: {field: [msg]} on 400 and {detail} elsewhere', async () => {
    server.use(
      ...catalog(),
      http.get(`${API}/ssh-keys`, () => HttpResponse.json(page([{ id: KEY_ID, name: 'k', public_key: PUBKEY }]))),
      http.post(`${API}/instances`, () =>
        HttpResponse.json({ billing_cycle: ['"hourly" is not offered for this size.'] }, { status: 400 }),
      ),
      http.get(`${API}/instances/:id`, () => HttpResponse.json({ detail: 'Not found.' }, { status: 404 })),
    );
    const a = adapter();
    const plan = await a.planCreate({ instance_type: 'vps-m2', name: 'x', ssh_public_key: PUBKEY });
    await expect(a.create(plan)).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      message: expect.stringContaining('billing_cycle: "hourly" is not offered for this size.'),
    });
    await expect(a.getInstance(ID)).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: expect.stringContaining('Not found.'),
    });
    expect(state.seen.filter((s) => s.method === 'POST')).toHaveLength(1); // a create is never re-sent
  });
});
