/**
 * Mithril wire format: every call's method, path, query, body and Bearer header against seed 003 and providers.md §4,
 * with msw intercepting the global fetch.
 */
import { http, HttpResponse } from 'msw';
import { describe, expect, it } from 'vitest';
import { wireServer } from '../helpers/wire.js';
import { HttpClient } from '../../src/http/client.js';
import { fastApiError } from '../../src/providers/index.js';
import { MithrilProvider } from '../../src/providers/mithril/adapter.js';
import { centsToDollars, dollarsToCents, usdToCents } from '../../src/providers/mithril/map.js';
import fx from '../../src/providers/mithril/fixtures/examples.json' with { type: 'json' };

const BASE = 'https://api.mithril.ai';
const KEY = 'fkey_wiretest';
const PROJECT = 'proj_abc123456';
const KEYTEXT = 'ssh-ed25519 AAAA test';

const { server, state } = wireServer(`Bearer ${KEY}`);


const adapter = () =>
  new MithrilProvider({
    http: new HttpClient({ provider: 'mithril', baseUrl: BASE, headers: () => ({ authorization: `Bearer ${KEY}` }), parseError: fastApiError, retry: { baseDelayMs: 1, maxDelayMs: 2 } }),
    project: PROJECT,
  });
const catalog = () => [
  http.get(`${BASE}/v2/instance-types`, () => HttpResponse.json(fx.instanceTypes)),
  http.get(`${BASE}/v2/spot/availability`, () => HttpResponse.json(fx.availability)),
];
const calls = () => state.seen.map((s) => `${s.method} ${s.path}`);

describe('money', () => {
  it.each([['$25.60', 2560], ['$0.05', 5], ['$3', 300], ['$16.4', 1640], ['$1234.99', 123499]])('%s is %i cents exactly', (s, c) => {
    expect(dollarsToCents(s)).toBe(c);
    expect(dollarsToCents(centsToDollars(c))).toBe(c);
  });
  it('rounds an agent\'s dollars up to whole cents without float drift', () => {
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
    expect(types).toEqual([{
      provider: 'mithril', id: 'h100-80gb.sxm.8x', name: 'h100-80gb.sxm.8x', gpu: { model: 'H100', count: 8, memory_gib: 80 }, vcpus: 208, memory_gib: 1800,
      disk_gib: 30000, price: { usd_per_hour: 15.9, source: 'api', spot: true }, regions: ['us-central1-a', 'eu-central1-a'], available: true,
    }]);
    expect((await adapter().listInstanceTypes({ region: 'us-central1-a' }))[0]!.price.usd_per_hour).toBe(16.4);
  });

  it('plans a spot bid: current price for the region\'s FID, SSH keys of the project; sends nothing that changes state', async () => {
    server.use(
      ...catalog(),
      http.get(`${BASE}/v2/pricing/current`, () => HttpResponse.json(fx.currentPrice)),
      http.get(`${BASE}/v2/ssh-keys`, () => HttpResponse.json([])),
    );
    const plan = await adapter().planCreate({ instance_type: 'h100-80gb.sxm.8x', name: 'train', region: 'us-central1-a', ssh_public_key: KEYTEXT, startup_script: 'echo hi' });
    expect(state.seen.every((s) => s.method === 'GET')).toBe(true);
    expect(state.seen.find((s) => s.path === '/v2/pricing/current')!.query).toEqual({ instance_type: 'it_abc123456', region: 'us-central1-a' });
    expect(state.seen.find((s) => s.path === '/v2/ssh-keys')!.query).toEqual({ project: PROJECT });
    expect(plan.price).toEqual({ usd_per_hour: 16.4, source: 'limit_price', spot: true });
    expect(plan.notes!.join(' ')).toMatch(/defaults to the current spot price \(\$16\.40\/hour\).*second-price auction may charge less.*5 minutes' notice/);
  });

  it('creates: registers the key through /v2/ssh-keys, then POSTs one bid with the documented body, once', async () => {
    server.use(
      ...catalog(),
      http.get(`${BASE}/v2/pricing/current`, () => HttpResponse.json(fx.currentPrice)),
      http.get(`${BASE}/v2/ssh-keys`, () => HttpResponse.json([])),
      http.post(`${BASE}/v2/ssh-keys`, () => HttpResponse.json({ fid: 'sshkey_new', name: 'k', public_key: KEYTEXT }, { status: 201 })),
      http.post(`${BASE}/v2/spot/bids`, () => HttpResponse.json({ ...fx.bid, instances: [], status: 'Open', limit_price: '$17.25' })),
    );
    const a = adapter();
    const plan = await a.planCreate({ instance_type: 'h100-80gb.sxm.8x', name: 'train', region: 'us-central1-a', ssh_public_key: KEYTEXT, limit_price_usd: 17.25 });
    state.seen = [];
    const inst = await a.create(plan);
    expect(calls()).toEqual(['POST /v2/ssh-keys', 'POST /v2/spot/bids']); // the catalog is still cached from the plan
    expect(state.seen[0]!.body).toEqual({ project: PROJECT, name: expect.stringMatching(/^compute-mcp-[0-9a-f]{12}$/), public_key: KEYTEXT });
    expect(state.seen[1]!.body).toEqual({
      project: PROJECT, region: 'us-central1-a', instance_type: 'it_abc123456', limit_price: '$17.25', instance_quantity: 1, name: 'train',
      launch_specification: { ssh_keys: ['sshkey_new'], volumes: [] },
    });
    expect(state.seen.filter((s) => s.method === 'POST' && s.path === '/v2/spot/bids')).toHaveLength(1);
    expect(inst).toMatchObject({ id: 'bid_abc123456', status: 'pending', provider_status: 'bid Open', instance_type: 'h100-80gb.sxm.8x', price_usd_per_hour: 17.25 });
  });

  it('lists instances with project, limit and next_cursor, then the bids that have no instance yet', async () => {
    server.use(
      ...catalog(),
      http.get(`${BASE}/v2/instances`, () => HttpResponse.json({ data: [fx.instance], next_cursor: 'cur_2' })),
      http.get(`${BASE}/v2/spot/bids/:fid`, () => HttpResponse.json(fx.bid)),
      http.get(`${BASE}/v2/spot/bids`, () => HttpResponse.json({ data: [fx.bid, { ...fx.bid, fid: 'bid_open', name: 'waiting', instances: [], status: 'Open' }], next_cursor: null })),
    );
    const a = adapter();
    const p1 = await a.listInstances({ limit: 1 });
    expect(state.seen.find((s) => s.path === '/v2/instances')!.query).toEqual({ project: PROJECT, limit: '1' });
    expect(p1).toEqual({
      items: [{
        provider: 'mithril', id: 'bid_abc123456', name: 'train', status: 'running', provider_status: 'STATUS_RUNNING', instance_type: 'h100-80gb.sxm.8x',
        region: 'us-central1-a', gpu: { model: 'H100', count: 8, memory_gib: 80 }, private_ip: '10.0.0.7', ssh: 'ssh -p 2222 ubuntu@203.0.113.7',
        created_at: '2024-01-01T00:00:00Z', price_usd_per_hour: 16.4,
      }],
      next_cursor: 'cur_2',
    });
    state.seen = [];
    await a.listInstances({ limit: 1, cursor: 'cur_2' });
    expect(state.seen.find((s) => s.path === '/v2/instances')!.query).toEqual({ project: PROJECT, limit: '1', next_cursor: 'cur_2' });
    state.seen = [];
    const bids = await a.listInstances({ cursor: 'bids' });
    expect(state.seen.find((s) => s.path === '/v2/spot/bids')!.query).toEqual({ project: PROJECT, limit: '100' });
    expect(bids.items.map((i) => [i.id, i.status, i.provider_status])).toEqual([['bid_open', 'pending', 'bid Open']]);
    expect(bids.next_cursor).toBeUndefined();
  });

  it('gets a spot VM by its bid: the bid, the instance status, and the instance record', async () => {
    server.use(
      ...catalog(),
      http.get(`${BASE}/v2/spot/bids/:fid`, () => HttpResponse.json(fx.bid)),
      http.get(`${BASE}/v2/instances/:fid/status`, () => HttpResponse.json({ ...fx.status, status: 'STATUS_SOMETHING_NEW' })),
      http.get(`${BASE}/v2/instances`, () => HttpResponse.json({ data: [fx.instance], next_cursor: null })),
    );
    const i = await adapter().getInstance('bid_abc123456');
    expect(calls()).toEqual(expect.arrayContaining(['GET /v2/spot/bids/bid_abc123456', 'GET /v2/instances/inst_abc123456/status', 'GET /v2/instances']));
    expect(state.seen.find((s) => s.path === '/v2/instances')!.query).toMatchObject({ project: PROJECT, bid_fid_in: 'bid_abc123456' });
    expect(i).toMatchObject({ id: 'bid_abc123456', status: 'unknown', provider_status: 'STATUS_SOMETHING_NEW' });
  });

  it('deletes by cancelling the bid (204), and 404 means already gone', async () => {
    server.use(http.delete(`${BASE}/v2/spot/bids/:fid`, ({ params }) => (params.fid === 'bid_abc123456' ? new HttpResponse(null, { status: 204 }) : HttpResponse.json({ detail: 'Not Found' }, { status: 404 }))));
    expect(await adapter().delete('bid_abc123456')).toEqual({ already_gone: false });
    expect(await adapter().delete('bid_gone')).toEqual({ already_gone: true });
    expect(calls()).toEqual(['DELETE /v2/spot/bids/bid_abc123456', 'DELETE /v2/spot/bids/bid_gone']);
    await expect(adapter().delete('inst_reserved')).rejects.toMatchObject({ code: 'UNSUPPORTED' });
  });

  it('pauses a spot VM with PATCH /v2/spot/bids/{fid} {"paused":true} and resumes with false', async () => {
    let paused = false;
    server.use(
      ...catalog(),
      http.get(`${BASE}/v2/spot/bids/:fid`, () => HttpResponse.json({ ...fx.bid, status: paused ? 'Paused' : 'Allocated' })),
      http.get(`${BASE}/v2/instances/:fid/status`, () => HttpResponse.json({ ...fx.status, status: paused ? 'STATUS_PAUSED' : 'STATUS_RUNNING' })),
      http.get(`${BASE}/v2/instances`, () => HttpResponse.json({ data: [fx.instance], next_cursor: null })),
      http.patch(`${BASE}/v2/spot/bids/:fid`, async ({ request }) => {
        paused = ((await request.json()) as { paused: boolean }).paused;
        return HttpResponse.json({ ...fx.bid, status: paused ? 'Paused' : 'Allocated' });
      }),
    );
    expect(await adapter().pause(['bid_abc123456'])).toEqual([{ id: 'bid_abc123456', result: 'paused', status: 'stopping' }]);
    expect(state.seen.filter((s) => s.method === 'PATCH')).toEqual([expect.objectContaining({ path: '/v2/spot/bids/bid_abc123456', body: { paused: true } })]);
    state.seen = [];
    expect(await adapter().resume(['bid_abc123456'])).toEqual([{ id: 'bid_abc123456', result: 'resumed', status: 'starting' }]);
    expect(state.seen.filter((s) => s.method === 'PATCH')).toEqual([expect.objectContaining({ body: { paused: false } })]);
  });

  it('pauses reserved instances in one PATCH /v2/instances batch and reads the answer per instance', async () => {
    const reserved = (fid: string, status: string) => ({ ...fx.instance, fid, bid: null, reservation: 'res_1', status });
    const current: Record<string, string> = { inst_a: 'STATUS_RUNNING', inst_b: 'STATUS_RUNNING', inst_c: 'STATUS_PAUSED' };
    server.use(
      ...catalog(),
      http.get(`${BASE}/v2/instances/:fid/status`, ({ params }) => (current[params.fid as string] ? HttpResponse.json({ ...fx.status, fid: params.fid, bid: null, reservation: 'res_1', status: current[params.fid as string] }) : HttpResponse.json({ detail: 'Not Found' }, { status: 404 }))),
      http.get(`${BASE}/v2/instances`, () => HttpResponse.json({ data: Object.entries(current).map(([f, s]) => reserved(f, s)), next_cursor: null })),
      http.patch(`${BASE}/v2/instances`, () => HttpResponse.json({ inst_a: 'STATUS_STOPPING', inst_b: 'STATUS_RUNNING' })),
    );
    const r = await adapter().pause(['inst_a', 'inst_b', 'inst_c', 'inst_zz']);
    expect(r).toEqual([
      { id: 'inst_a', result: 'paused', status: 'stopping' },
      { id: 'inst_b', result: 'failed', message: 'Mithril left it STATUS_RUNNING' },
      { id: 'inst_c', result: 'already_paused', status: 'paused' },
      { id: 'inst_zz', result: 'failed', message: expect.stringContaining('[NOT_FOUND]') },
    ]);
    const patches = state.seen.filter((s) => s.method === 'PATCH');
    expect(patches).toEqual([expect.objectContaining({ path: '/v2/instances', body: { instances: ['inst_a', 'inst_b'], status: 'STATUS_PAUSED' } })]);
  });

  it('reads status history with project and the bid, all pages', async () => {
    server.use(http.get(`${BASE}/v2/instances/status/history`, ({ request }) => {
      const c = new URL(request.url).searchParams.get('next_cursor');
      return HttpResponse.json(c
        ? { data: [{ instance_fid: 'inst_abc123456', bid_fid: 'bid_abc123456', status: 'STATUS_RUNNING', timestamp: '2024-01-01T00:05:00Z' }], next_cursor: null }
        : { data: [{ instance_fid: 'inst_abc123456', bid_fid: 'bid_abc123456', status: 'STATUS_NEW', timestamp: '2024-01-01T00:00:00Z' }], next_cursor: 'h2' });
    }));
    expect(await adapter().statusHistory('bid_abc123456')).toEqual([{ status: 'STATUS_NEW', at: '2024-01-01T00:00:00Z' }, { status: 'STATUS_RUNNING', at: '2024-01-01T00:05:00Z' }]);
    expect(state.seen.map((s) => s.query)).toEqual([{ project: PROJECT, bid_fid: 'bid_abc123456', limit: '100' }, { project: PROJECT, bid_fid: 'bid_abc123456', limit: '100', next_cursor: 'h2' }]);
  });

  it('turns FastAPI 422 {detail:[…]} into INVALID_INPUT naming the field, and {detail} into the message', async () => {
    server.use(...catalog(), http.get(`${BASE}/v2/spot/bids/:fid`, () => HttpResponse.json({ detail: 'Invalid API key' }, { status: 401 })));
    await expect(adapter().getInstance('bid_x')).rejects.toMatchObject({ code: 'PROVIDER_AUTH', message: expect.stringContaining('HTTP 401: Invalid API key') });
    server.use(http.get(`${BASE}/v2/instance-types`, () => HttpResponse.json({ detail: [{ loc: ['query', 'project'], msg: 'Field required', type: 'missing' }] }, { status: 422 })), http.get(`${BASE}/v2/spot/availability`, () => HttpResponse.json([])));
    await expect(adapter().listInstanceTypes()).rejects.toMatchObject({ code: 'INVALID_INPUT', message: expect.stringContaining('query.project: Field required') });
  });
});
