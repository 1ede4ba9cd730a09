/**
 * Mithril wire format: every call's method, path, query, body and Bearer header against seed 003 and providers.md §4,
 * with msw intercepting the global fetch.
 */
import { http, HttpResponse } from 'msw';
import { describe, expect, it } from 'vitest';
import { memoryLogger } from '../helpers/logsink.js';
import { wireServer } from '../helpers/wire.js';
import { HttpClient } from '../../src/http/client.js';
import { fastApiError } from '../../src/providers/mithril/index.js';
import { MithrilProvider } from '../../src/providers/mithril/adapter.js';
import { centsToDollars, dollarsToCents, usdToCents } from '../../src/providers/mithril/map.js';
import fx from '../../src/providers/mithril/fixtures/examples.json' with { type: 'json' };

const BASE = 'https://api.mithril.ai';
const KEY = 'fkey_wiretest';
const PROJECT = 'proj_abc123456';
const KEYTEXT = 'ssh-ed25519 AAAA test';

const { server, state } = wireServer(`Bearer ${KEY}`);

const client = (log?: ReturnType<typeof memoryLogger>['log']) =>
  new HttpClient({
    provider: 'mithril',
    baseUrl: BASE,
    headers: () => ({ authorization: `Bearer ${KEY}` }),
    parseError: fastApiError,
    retry: { baseDelayMs: 1, maxDelayMs: 2 },
    ...(log ? { log } : {}),
  });
const adapter = (log?: ReturnType<typeof memoryLogger>['log']) =>
  new MithrilProvider({ http: client(), project: PROJECT, ...(log ? { log } : {}) });
/** The warnings an adapter logged, as parsed JSON lines. */
const warnings = (lines: string[]) =>
  lines
    .map(
      (l) =>
        JSON.parse(l) as { level: number; msg: string; what?: string; index?: number; fid?: string; price?: string },
    )
    .filter((l) => l.level === 40);
/** Spot bids by status filter, as GET /v2/spot/bids?status= answers them. */
const bidsByStatus = (all: Record<string, unknown>[]) =>
  http.get(`${BASE}/v2/spot/bids`, ({ request }) => {
    const status = new URL(request.url).searchParams.get('status');
    return HttpResponse.json({ data: all.filter((b) => !status || b.status === status), next_cursor: null });
  });
const catalog = () => [
  http.get(`${BASE}/v2/instance-types`, () => HttpResponse.json(fx.instanceTypes)),
  http.get(`${BASE}/v2/spot/availability`, () => HttpResponse.json(fx.availability)),
];
const calls = () => state.seen.map((s) => `${s.method} ${s.path}`);

/** The catalog, one bid and its instance, read as paused (the instance in `pausedStatus`) once `paused()` says so. */
function bidReads(paused: () => boolean, pausedStatus: string) {
  return [
    ...catalog(),
    http.get(`${BASE}/v2/spot/bids/:fid`, () =>
      HttpResponse.json({ ...fx.bid, status: paused() ? 'Paused' : 'Allocated' }),
    ),
    http.get(`${BASE}/v2/instances`, () =>
      HttpResponse.json({
        data: [{ ...fx.instance, status: paused() ? pausedStatus : 'STATUS_RUNNING' }],
        next_cursor: null,
      }),
    ),
  ];
}

describe('money', () => {
  it.each([
    ['$25.60', 2560],
    ['$0.05', 5],
    ['$3', 300],
    ['$16.4', 1640],
    ['$1234.99', 123499],
  ])('%s is %i cents exactly', (s, c) => {
    expect(dollarsToCents(s)).toBe(c);
    expect(dollarsToCents(centsToDollars(c))).toBe(c);
  });
  it("rounds an agent's dollars up to whole cents without float drift", () => {
    expect(usdToCents(0.1 + 0.2)).toBe(30);
    expect(usdToCents(16.4)).toBe(1640);
    expect(usdToCents(16.401)).toBe(1641);
    expect(centsToDollars(1605)).toBe('$16.05');
  });
});

describe('Mithril wire format', () => {
  it('lists instance types from /v2/instance-types and /v2/spot/availability, one per name, with exact prices', async () => {
    server.use(...catalog());
    const types = await adapter().listInstanceTypes();
    expect(calls().sort()).toEqual(['GET /v2/instance-types', 'GET /v2/spot/availability']);
    expect(types).toEqual([
      {
        provider: 'mithril',
        id: 'h100-80gb.sxm.8x',
        name: 'h100-80gb.sxm.8x',
        gpu: { model: 'H100', count: 8, memory_gib: 80 },
        vcpus: 208,
        memory_gib: 1800,
        disk_gib: 30000,
        price: { usd_per_hour: 15.9, source: 'api', spot: true },
        regions: ['us-central1-a', 'eu-central1-a'],
        available: true,
      },
    ]);
    expect((await adapter().listInstanceTypes({ region: 'us-central1-a' }))[0]!.price.usd_per_hour).toBe(16.4);
  });

  it("plans a spot bid: current price for the region's FID, SSH keys of the project; sends nothing that changes state", async () => {
    server.use(
      ...catalog(),
      http.get(`${BASE}/v2/pricing/current`, () => HttpResponse.json(fx.currentPrice)),
      http.get(`${BASE}/v2/ssh-keys`, () => HttpResponse.json([])),
    );
    const plan = await adapter().planCreate({
      instance_type: 'h100-80gb.sxm.8x',
      name: 'train',
      region: 'us-central1-a',
      ssh_public_key: KEYTEXT,
      startup_script: 'echo hi',
    });
    expect(state.seen.every((s) => s.method === 'GET')).toBe(true);
    expect(state.seen.find((s) => s.path === '/v2/pricing/current')!.query).toEqual({
      instance_type: 'it_abc123456',
      region: 'us-central1-a',
    });
    expect(state.seen.find((s) => s.path === '/v2/ssh-keys')!.query).toEqual({ project: PROJECT });
    expect(plan.price).toEqual({ usd_per_hour: 16.4, source: 'limit_price', spot: true });
    expect(plan.notes!.join(' ')).toMatch(
      /defaults to the current spot price \(\$16\.40\/hour\).*second-price auction may charge less.*5 minutes' notice/,
    );
  });

  it('creates: registers the key through /v2/ssh-keys, then POSTs one bid with the documented body, once', async () => {
    server.use(
      ...catalog(),
      http.get(`${BASE}/v2/pricing/current`, () => HttpResponse.json(fx.currentPrice)),
      http.get(`${BASE}/v2/ssh-keys`, () => HttpResponse.json([])),
      http.post(`${BASE}/v2/ssh-keys`, () =>
        HttpResponse.json({ fid: 'sshkey_new', name: 'k', public_key: KEYTEXT }, { status: 201 }),
      ),
      http.post(`${BASE}/v2/spot/bids`, () =>
        HttpResponse.json({ ...fx.bid, instances: [], status: 'Open', limit_price: '$17.25' }),
      ),
    );
    const a = adapter();
    const plan = await a.planCreate({
      instance_type: 'h100-80gb.sxm.8x',
      name: 'train',
      region: 'us-central1-a',
      ssh_public_key: KEYTEXT,
      limit_price_usd: 17.25,
    });
    state.seen = [];
    const inst = await a.create(plan);
    expect(calls()).toEqual(['POST /v2/ssh-keys', 'POST /v2/spot/bids']); // the catalog is still cached from the plan
    expect(state.seen[0]!.body).toEqual({
      project: PROJECT,
      name: expect.stringMatching(/^compute-mcp-[0-9a-f]{12}$/),
      public_key: KEYTEXT,
    });
    expect(state.seen[1]!.body).toEqual({
      project: PROJECT,
      region: 'us-central1-a',
      instance_type: 'it_abc123456',
      limit_price: '$17.25',
      instance_quantity: 1,
      name: 'train',
      launch_specification: { ssh_keys: ['sshkey_new'], volumes: [] },
    });
    expect(state.seen.filter((s) => s.method === 'POST' && s.path === '/v2/spot/bids')).toHaveLength(1);
    expect(inst).toMatchObject({
      id: 'bid_abc123456',
      status: 'pending',
      provider_status: 'bid Open',
      instance_type: 'h100-80gb.sxm.8x',
      price_usd_per_hour: 17.25,
    });
  });

  it('lists instances, open and paused bids at once, each with project, limit and its own next_cursor: no pseudo-cursor', async () => {
    server.use(
      ...catalog(),
      http.get(`${BASE}/v2/instances`, ({ request }) => {
        const c = new URL(request.url).searchParams.get('next_cursor');
        return HttpResponse.json(
          c
            ? { data: [{ ...fx.instance, fid: 'inst_2', bid: null, reservation: 'res_1' }], next_cursor: null }
            : { data: [fx.instance], next_cursor: 'cur_2' },
        );
      }),
      http.get(`${BASE}/v2/spot/bids/:fid`, () => HttpResponse.json(fx.bid)),
      bidsByStatus([
        fx.bid,
        { ...fx.bid, fid: 'bid_open', name: 'waiting', instances: [], status: 'Open' },
        { ...fx.bid, fid: 'bid_held', name: 'held', instances: [], status: 'Paused' },
      ]),
    );
    const a = adapter();
    const p1 = await a.listInstances({ limit: 1 });
    expect(state.seen.find((s) => s.path === '/v2/instances')!.query).toEqual({ project: PROJECT, limit: '1' });
    // Changed: the three listings are read at once, each asked for the whole limit.
    expect(state.seen.filter((s) => s.path === '/v2/spot/bids').map((s) => s.query)).toEqual([
      { project: PROJECT, status: 'Open', limit: '1' },
      { project: PROJECT, status: 'Paused', limit: '1' },
    ]);
    expect(p1).toEqual({
      items: [
        {
          provider: 'mithril',
          id: 'bid_abc123456',
          name: 'train',
          status: 'running',
          provider_status: 'STATUS_RUNNING',
          instance_type: 'h100-80gb.sxm.8x',
          region: 'us-central1-a',
          gpu: { model: 'H100', count: 8, memory_gib: 80 },
          private_ip: '10.0.0.7',
          ssh: 'ssh -p 2222 ubuntu@203.0.113.7',
          created_at: '2024-01-01T00:00:00Z',
          price_usd_per_hour: 16.4,
        },
      ],
      // The cloud's own cursor, named by its listing; the bid listings' pages did not fit and start again.
      next_cursor: 'i=cur_2&o=&p=',
    });
    state.seen = [];
    const p2 = await a.listInstances({ limit: 1, cursor: p1.next_cursor });
    expect(state.seen.find((s) => s.path === '/v2/instances')!.query).toEqual({
      project: PROJECT,
      limit: '1',
      next_cursor: 'cur_2',
    });
    expect(p2.items.map((i) => i.id)).toEqual(['inst_2']);
    expect(p2.next_cursor).toBe('o=&p=');
    state.seen = [];
    // Open bids, then (room left) bids paused before allocation, in the same call; then nothing more.
    const p3 = await a.listInstances({ limit: 5, cursor: p2.next_cursor });
    expect(state.seen.some((s) => s.path === '/v2/instances')).toBe(false);
    expect(state.seen.filter((s) => s.path === '/v2/spot/bids').map((s) => s.query)).toEqual([
      { project: PROJECT, status: 'Open', limit: '5' },
      { project: PROJECT, status: 'Paused', limit: '5' },
    ]);
    expect(p3.items.map((i) => [i.id, i.status, i.provider_status])).toEqual([
      ['bid_open', 'pending', 'bid Open'],
      ['bid_held', 'paused', 'bid Paused'],
    ]);
    expect(p3.next_cursor).toBeUndefined();
    for (const cursor of ['bids:0', 'i:cur_2', 'i=a&i=b', 'x=1'])
      await expect(a.listInstances({ cursor })).rejects.toMatchObject({ code: 'INVALID_INPUT' });
  });

  it('a listing whose page does not fit is read again from the same cursor, whole: nothing lost, nothing repeated', async () => {
    const bid = (fid: string, status: string) => ({ ...fx.bid, fid, name: fid, instances: [], status });
    server.use(
      ...catalog(),
      http.get(`${BASE}/v2/instances`, () =>
        HttpResponse.json({ data: [{ ...fx.instance, bid: null }], next_cursor: null }),
      ),
      http.get(`${BASE}/v2/spot/bids`, ({ request }) => {
        const q = new URL(request.url).searchParams;
        if (q.get('status') === 'Paused')
          return HttpResponse.json({ data: [bid('bid_p', 'Paused')], next_cursor: null });
        return HttpResponse.json(
          q.get('next_cursor') === 'o2'
            ? { data: [bid('bid_o3', 'Open')], next_cursor: null }
            : { data: [bid('bid_o1', 'Open'), bid('bid_o2', 'Open')], next_cursor: 'o2' },
        );
      }),
    );
    const a = adapter();
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const p = await a.listInstances({ limit: 2, ...(cursor ? { cursor } : {}) });
      expect(p.items.length).toBeLessThanOrEqual(2);
      seen.push(...p.items.map((i) => i.id));
      cursor = p.next_cursor;
    } while (cursor && ++pages < 10);
    expect(seen).toEqual(['inst_abc123456', 'bid_o1', 'bid_o2', 'bid_o3', 'bid_p']);
  });

  it('a listing with room left reads every listing once and says nothing more: no extra empty page', async () => {
    server.use(
      ...catalog(),
      http.get(`${BASE}/v2/instances`, () =>
        HttpResponse.json({ data: [{ ...fx.instance, bid: null }], next_cursor: null }),
      ),
      bidsByStatus([]),
    );
    const page = await adapter().listInstances({ limit: 10 });
    expect(page).toEqual({ items: [expect.objectContaining({ id: 'inst_abc123456' })] });
    expect(calls().filter((c) => !c.includes('instance-types') && !c.includes('availability'))).toEqual([
      'GET /v2/instances',
      'GET /v2/spot/bids',
      'GET /v2/spot/bids',
    ]);
  });

  it('gets a spot VM in two requests: its bid, then its instance record (status, address) from one filtered list', async () => {
    server.use(
      ...catalog(),
      http.get(`${BASE}/v2/spot/bids/:fid`, () => HttpResponse.json(fx.bid)),
      http.get(`${BASE}/v2/instances`, () =>
        HttpResponse.json({ data: [{ ...fx.instance, status: 'STATUS_SOMETHING_NEW' }], next_cursor: null }),
      ),
    );
    const a = adapter();
    await a.listInstanceTypes(); // the catalog (names of types) is cached for every later call
    state.seen = [];
    const i = await a.getInstance('bid_abc123456');
    expect(calls()).toEqual(['GET /v2/spot/bids/bid_abc123456', 'GET /v2/instances']);
    expect(state.seen[1]!.query).toEqual({ project: PROJECT, limit: '100', bid_fid_in: 'bid_abc123456' });
    expect(i).toMatchObject({
      id: 'bid_abc123456',
      status: 'unknown',
      provider_status: 'STATUS_SOMETHING_NEW',
      ssh: 'ssh -p 2222 ubuntu@203.0.113.7',
      price_usd_per_hour: 16.4,
    });
  });

  it('gets a reserved VM in two requests: its status, then its record from the list filtered by its reservation', async () => {
    server.use(
      ...catalog(),
      http.get(`${BASE}/v2/instances/:fid/status`, () =>
        HttpResponse.json({ ...fx.status, fid: 'inst_r', bid: null, reservation: 'res_1', status: 'STATUS_PAUSED' }),
      ),
      http.get(`${BASE}/v2/instances`, () =>
        HttpResponse.json({
          data: [{ ...fx.instance, fid: 'inst_r', bid: null, reservation: 'res_1' }],
          next_cursor: null,
        }),
      ),
    );
    const a = adapter();
    await a.listInstanceTypes();
    state.seen = [];
    const i = await a.getInstance('inst_r');
    expect(calls()).toEqual(['GET /v2/instances/inst_r/status', 'GET /v2/instances']);
    expect(state.seen[1]!.query).toEqual({ project: PROJECT, limit: '100', reservation_fid_in: 'res_1' });
    expect(i).toMatchObject({
      id: 'inst_r',
      status: 'paused',
      provider_status: 'STATUS_PAUSED',
      region: 'us-central1-a',
    });
  });

  it('deletes by cancelling the bid (204), and 404 means already gone', async () => {
    server.use(
      http.delete(`${BASE}/v2/spot/bids/:fid`, ({ params }) =>
        params.fid === 'bid_abc123456'
          ? new HttpResponse(null, { status: 204 })
          : HttpResponse.json({ detail: 'Not Found' }, { status: 404 }),
      ),
    );
    expect(await adapter().delete('bid_abc123456')).toEqual({ already_gone: false });
    expect(await adapter().delete('bid_gone')).toEqual({ already_gone: true });
    expect(calls()).toEqual(['DELETE /v2/spot/bids/bid_abc123456', 'DELETE /v2/spot/bids/bid_gone']);
    // As the public clients send it (SkyPilot cancel_bid, flow SDK delete_bid): no body.
    expect(state.seen.map((s) => s.body)).toEqual([undefined, undefined]);
    await expect(adapter().delete('inst_reserved')).rejects.toMatchObject({ code: 'UNSUPPORTED' });
  });

  it('pauses a spot VM with PATCH /v2/spot/bids/{fid} {"paused":true} and resumes with false', async () => {
    let paused = false;
    server.use(
      ...bidReads(() => paused, 'STATUS_PAUSED'),
      http.patch(`${BASE}/v2/spot/bids/:fid`, async ({ request }) => {
        paused = ((await request.json()) as { paused: boolean }).paused;
        return HttpResponse.json({ ...fx.bid, status: paused ? 'Paused' : 'Allocated' });
      }),
    );
    expect(await adapter().pause(['bid_abc123456'])).toEqual([
      { id: 'bid_abc123456', result: 'paused', status: 'stopping' },
    ]);
    // As the public clients send it (SkyPilot update_bid, flow SDK patch_bid): the bid's path, `{"paused": …}` only.
    expect(state.seen.filter((s) => s.method === 'PATCH')).toEqual([
      expect.objectContaining({ path: '/v2/spot/bids/bid_abc123456', query: {}, body: { paused: true } }),
    ]);
    state.seen = [];
    expect(await adapter().resume(['bid_abc123456'])).toEqual([
      { id: 'bid_abc123456', result: 'resumed', status: 'starting' },
    ]);
    expect(state.seen.filter((s) => s.method === 'PATCH')).toEqual([
      expect.objectContaining({ body: { paused: false } }),
    ]);
  });

  it('pauses reserved instances in one PATCH /v2/instances batch and reads the answer per instance', async () => {
    const reserved = (fid: string, status: string) => ({
      ...fx.instance,
      fid,
      bid: null,
      reservation: 'res_1',
      status,
    });
    const current: Record<string, string> = {
      inst_a: 'STATUS_RUNNING',
      inst_b: 'STATUS_RUNNING',
      inst_c: 'STATUS_PAUSED',
    };
    server.use(
      ...catalog(),
      http.get(`${BASE}/v2/instances/:fid/status`, ({ params }) =>
        current[params.fid as string]
          ? HttpResponse.json({
              ...fx.status,
              fid: params.fid,
              bid: null,
              reservation: 'res_1',
              status: current[params.fid as string],
            })
          : HttpResponse.json({ detail: 'Not Found' }, { status: 404 }),
      ),
      http.get(`${BASE}/v2/instances`, () =>
        HttpResponse.json({ data: Object.entries(current).map(([f, s]) => reserved(f, s)), next_cursor: null }),
      ),
      http.patch(`${BASE}/v2/instances`, () =>
        HttpResponse.json({ inst_a: 'STATUS_STOPPING', inst_b: 'STATUS_RUNNING' }),
      ),
    );
    const r = await adapter().pause(['inst_a', 'inst_b', 'inst_c', 'inst_zz']);
    expect(r).toEqual([
      { id: 'inst_a', result: 'paused', status: 'stopping' },
      { id: 'inst_b', result: 'failed', status: 'running', message: 'Mithril left it STATUS_RUNNING' },
      { id: 'inst_c', result: 'already_paused', status: 'paused' },
      { id: 'inst_zz', result: 'failed', message: expect.stringContaining('[NOT_FOUND]') },
    ]);
    const patches = state.seen.filter((s) => s.method === 'PATCH');
    expect(patches).toEqual([
      expect.objectContaining({
        path: '/v2/instances',
        body: { instances: ['inst_a', 'inst_b'], status: 'STATUS_PAUSED' },
      }),
    ]);
  });

  it('reads status history with project and the bid, all pages', async () => {
    server.use(
      http.get(`${BASE}/v2/instances/status/history`, ({ request }) => {
        const c = new URL(request.url).searchParams.get('next_cursor');
        return HttpResponse.json(
          c
            ? {
                data: [
                  {
                    instance_fid: 'inst_abc123456',
                    bid_fid: 'bid_abc123456',
                    status: 'STATUS_RUNNING',
                    timestamp: '2024-01-01T00:05:00Z',
                  },
                ],
                next_cursor: null,
              }
            : {
                data: [
                  {
                    instance_fid: 'inst_abc123456',
                    bid_fid: 'bid_abc123456',
                    status: 'STATUS_NEW',
                    timestamp: '2024-01-01T00:00:00Z',
                  },
                ],
                next_cursor: 'h2',
              },
        );
      }),
    );
    expect(await adapter().statusHistory('bid_abc123456')).toEqual([
      { status: 'STATUS_NEW', at: '2024-01-01T00:00:00Z' },
      { status: 'STATUS_RUNNING', at: '2024-01-01T00:05:00Z' },
    ]);
    expect(state.seen.map((s) => s.query)).toEqual([
      { project: PROJECT, bid_fid: 'bid_abc123456', limit: '100' },
      { project: PROJECT, bid_fid: 'bid_abc123456', limit: '100', next_cursor: 'h2' },
    ]);
  });

  it('turns FastAPI 422 {detail:[…]} into INVALID_INPUT naming the field, and {detail} into the message', async () => {
    server.use(
      ...catalog(),
      http.get(`${BASE}/v2/spot/bids/:fid`, () => HttpResponse.json({ detail: 'Invalid API key' }, { status: 401 })),
    );
    await expect(adapter().getInstance('bid_x')).rejects.toMatchObject({
      code: 'PROVIDER_AUTH',
      message: expect.stringContaining('HTTP 401: Invalid API key'),
    });
    server.use(
      http.get(`${BASE}/v2/instance-types`, () =>
        HttpResponse.json(
          { detail: [{ loc: ['query', 'project'], msg: 'Field required', type: 'missing' }] },
          { status: 422 },
        ),
      ),
      http.get(`${BASE}/v2/spot/availability`, () => HttpResponse.json([])),
    );
    await expect(adapter().listInstanceTypes()).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      message: expect.stringContaining('query.project: Field required'),
    });
  });
});

describe('Mithril: one entry the adapter cannot read is skipped with a warning, never failing the list', () => {
  const badType = { fid: 'it_bad', name: 'weird', num_cpus: 'many' };
  const badAvail = { fid: 'avail_bad', region: 'us-central1-a' }; // no instance_type
  const badPrice = {
    fid: 'avail_3',
    instance_type: 'it_abc123456',
    region: 'us-central1-b',
    capacity: 2,
    last_instance_price: '16.40 USD',
  };
  const messyCatalog = () => [
    http.get(`${BASE}/v2/instance-types`, () => HttpResponse.json([...fx.instanceTypes, badType])),
    http.get(`${BASE}/v2/spot/availability`, () => HttpResponse.json([badAvail, ...fx.availability, badPrice])),
  ];

  it('list_instance_types: the other types, regions and prices are listed; each skipped one is logged', async () => {
    server.use(...messyCatalog());
    const { log, lines } = memoryLogger();
    const types = await adapter(log).listInstanceTypes();
    expect(types).toEqual([
      expect.objectContaining({
        id: 'h100-80gb.sxm.8x',
        price: { usd_per_hour: 15.9, source: 'api', spot: true },
        regions: ['us-central1-a', 'eu-central1-a', 'us-central1-b'],
      }),
    ]);
    const w = warnings(lines);
    expect(w.map((x) => [x.msg, x.what])).toEqual(
      expect.arrayContaining([
        ['skipped a Mithril instance type the adapter cannot read', 'instance type'],
        ['skipped a Mithril spot availability entry the adapter cannot read', 'spot availability entry'],
        ['skipped a Mithril price the adapter cannot read', 'last_instance_price'],
      ]),
    );
    expect(w.find((x) => x.what === 'instance type')).toMatchObject({ index: 2, fid: 'it_bad' });
  });

  it("the warnings reach the HttpClient's logger when the adapter is built without one (as the registry builds it)", async () => {
    server.use(...messyCatalog());
    const { log, lines } = memoryLogger();
    await new MithrilProvider({ http: client(log), project: PROJECT }).listInstanceTypes();
    expect(warnings(lines).map((x) => x.what)).toEqual(
      expect.arrayContaining(['instance type', 'spot availability entry', 'last_instance_price']),
    );
  });

  it('create_vm: plans and bids on the entries it can read', async () => {
    server.use(
      ...messyCatalog(),
      http.get(`${BASE}/v2/pricing/current`, () => HttpResponse.json(fx.currentPrice)),
      http.get(`${BASE}/v2/ssh-keys`, () => HttpResponse.json([{ fid: 'sshkey_abc', name: 'k', public_key: KEYTEXT }])),
      http.post(`${BASE}/v2/spot/bids`, () => HttpResponse.json({ ...fx.bid, instances: [], status: 'Open' })),
    );
    const { log, lines } = memoryLogger();
    const a = adapter(log);
    const plan = await a.planCreate({ instance_type: 'h100-80gb.sxm.8x', name: 'train', ssh_public_key: KEYTEXT });
    expect(plan.region).toBe('eu-central1-a'); // the cheapest readable price; the unreadable one is not taken as 0
    expect(await a.create(plan)).toMatchObject({ id: 'bid_abc123456', status: 'pending' });
    expect(warnings(lines).length).toBeGreaterThanOrEqual(3);
  });

  it('list_instances: an unreadable instance or bid is skipped, a bid with an unreadable price is listed without a price', async () => {
    server.use(
      ...catalog(),
      http.get(`${BASE}/v2/instances`, () =>
        HttpResponse.json({ data: [{ fid: 'inst_broken', status: 42 }, fx.instance], next_cursor: null }),
      ),
      http.get(`${BASE}/v2/spot/bids/:fid`, () => HttpResponse.json(fx.bid)),
      bidsByStatus([
        { ...fx.bid, fid: 'bid_odd', instances: [], status: 'Open', limit_price: 'sixteen dollars' },
        { fid: 'bid_broken', status: 'Open' },
      ]),
    );
    const { log, lines } = memoryLogger();
    const page = await adapter(log).listInstances({ limit: 10 });
    expect(page.items.map((i) => [i.id, i.price_usd_per_hour])).toEqual([
      ['bid_abc123456', 16.4],
      ['bid_odd', null],
    ]);
    expect(warnings(lines).map((x) => [x.what, x.fid])).toEqual(
      expect.arrayContaining([
        ['instance', 'inst_broken'],
        ['bid', 'bid_broken'],
        ['limit_price', undefined],
      ]),
    );
  });
});

describe('Mithril pause/resume: every answer read, and a pause that happened never reported failed', () => {
  const reserved = (fid: string, status: string) => ({ ...fx.instance, fid, bid: null, reservation: 'res_1', status });

  /** Reserved instances whose statuses the PATCH handler may change; GET status and the list read them. */
  function reservedCloud(
    current: Record<string, string>,
    patch: (body: { instances: string[]; status: string }) => Response,
  ) {
    server.use(
      ...catalog(),
      http.get(`${BASE}/v2/instances/:fid/status`, ({ params }) => {
        const s = current[params.fid as string];
        return s
          ? HttpResponse.json({ ...fx.status, fid: params.fid, bid: null, reservation: 'res_1', status: s })
          : HttpResponse.json({ detail: 'Not Found' }, { status: 404 });
      }),
      http.get(`${BASE}/v2/instances`, () =>
        HttpResponse.json({ data: Object.entries(current).map(([f, s]) => reserved(f, s)), next_cursor: null }),
      ),
      http.patch(`${BASE}/v2/instances`, async ({ request }) =>
        patch((await request.json()) as { instances: string[]; status: string }),
      ),
    );
  }

  it('reads each batch entry whatever its value: a status, an object with status, null, or missing', async () => {
    const current: Record<string, string> = {
      inst_a: 'STATUS_RUNNING',
      inst_b: 'STATUS_RUNNING',
      inst_c: 'STATUS_RUNNING',
      inst_d: 'STATUS_RUNNING',
    };
    reservedCloud(current, () => {
      Object.assign(current, { inst_a: 'STATUS_STOPPING', inst_b: 'STATUS_STOPPING', inst_c: 'STATUS_PAUSED' });
      // inst_d is left running and left out of the answer.
      return HttpResponse.json({
        inst_a: 'STATUS_STOPPING',
        inst_b: { fid: 'inst_b', status: 'STATUS_STOPPING' },
        inst_c: null,
      });
    });
    expect(await adapter().pause(['inst_a', 'inst_b', 'inst_c', 'inst_d'])).toEqual([
      { id: 'inst_a', result: 'paused', status: 'stopping' },
      { id: 'inst_b', result: 'paused', status: 'stopping' },
      { id: 'inst_c', result: 'paused', status: 'paused' }, // null in the answer: read again, and it did pause
      {
        id: 'inst_d',
        result: 'failed',
        status: 'running',
        message: 'Mithril did not say what became of it; it is STATUS_RUNNING',
      },
    ]);
    expect(calls().filter((c) => c.startsWith('PATCH'))).toEqual(['PATCH /v2/instances']);
  });

  it('a resume answered STATUS_CONFIRMED (or starting, or running) took: one rule, pending and starting included', async () => {
    const current: Record<string, string> = {
      inst_a: 'STATUS_PAUSED',
      inst_b: 'STATUS_PAUSED',
      inst_c: 'STATUS_PAUSED',
      inst_d: 'STATUS_STARTING',
    };
    reservedCloud(current, () =>
      HttpResponse.json({ inst_a: 'STATUS_CONFIRMED', inst_b: 'STATUS_INITIALIZING', inst_c: 'STATUS_PAUSED' }),
    );
    expect(await adapter().resume(['inst_a', 'inst_b', 'inst_c', 'inst_d'])).toEqual([
      { id: 'inst_a', result: 'resumed', status: 'starting' },
      { id: 'inst_b', result: 'resumed', status: 'starting' },
      { id: 'inst_c', result: 'failed', status: 'paused', message: 'Mithril left it STATUS_PAUSED' },
      { id: 'inst_d', result: 'already_running', status: 'starting' },
    ]);
  });

  it('a batch whose answer is lost (5xx after the cloud acted) is read again: the pause that happened is reported paused', async () => {
    const current: Record<string, string> = { inst_a: 'STATUS_RUNNING', inst_b: 'STATUS_RUNNING' };
    reservedCloud(current, () => {
      current.inst_a = 'STATUS_STOPPING';
      return HttpResponse.json({ detail: 'upstream timeout' }, { status: 500 });
    });
    const r = await adapter().pause(['inst_a', 'inst_b']);
    expect(r[0]).toEqual({ id: 'inst_a', result: 'paused', status: 'stopping' });
    expect(r[1]).toMatchObject({
      id: 'inst_b',
      result: 'failed',
      status: 'running',
      message: expect.stringMatching(/HTTP 500.*it is STATUS_RUNNING$/),
    });
  });

  it('a bid update whose answer is not a BidModel we know still counts: the bid paused', async () => {
    let paused = false;
    server.use(
      ...bidReads(() => paused, 'STATUS_STOPPING'),
      http.patch(`${BASE}/v2/spot/bids/:fid`, () => {
        paused = true;
        return HttpResponse.json({ fid: 'bid_abc123456', status: 'Paused' }); // not a full BidModel
      }),
    );
    expect(await adapter().pause(['bid_abc123456'])).toEqual([
      { id: 'bid_abc123456', result: 'paused', status: 'stopping' },
    ]);
  });

  it("a bid update that fails and did nothing is failed, with the cloud's reason and the status read again", async () => {
    server.use(
      ...catalog(),
      http.get(`${BASE}/v2/spot/bids/:fid`, () => HttpResponse.json(fx.bid)),
      http.get(`${BASE}/v2/instances`, () => HttpResponse.json({ data: [fx.instance], next_cursor: null })),
      http.patch(`${BASE}/v2/spot/bids/:fid`, () =>
        HttpResponse.json({ detail: 'Bid cannot be paused now' }, { status: 400 }),
      ),
    );
    expect(await adapter().pause(['bid_abc123456'])).toEqual([
      {
        id: 'bid_abc123456',
        result: 'failed',
        status: 'running',
        message: expect.stringMatching(/Bid cannot be paused now.*it is STATUS_RUNNING$/),
      },
    ]);
  });
});
