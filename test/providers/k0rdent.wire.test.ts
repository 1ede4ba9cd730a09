/**
 * k0rdent AI wire format: every call's method, path, query, auth header and body against the documented format
 * (shared/seeds/k0rdent-get-instance.txt, providers.md §2, the public create/get/update pages) and the ASSUMPTIONs of
 * src/providers/k0rdent/wire.ts, with msw intercepting the global fetch.
 */
import { http, HttpResponse } from 'msw';
import { describe, expect, it } from 'vitest';
import { wireServer } from '../helpers/wire.js';
import { HttpClient } from '../../src/http/client.js';
import type { PriceTable } from '../../src/providers/cloud.js';
import { K0rdentProvider } from '../../src/providers/k0rdent/adapter.js';
import { parseError } from '../../src/providers/k0rdent/index.js';
import { keyDigest } from '../../src/providers/k0rdent/map.js';
import instanceFx from '../../src/providers/k0rdent/fixtures/instance.json' with { type: 'json' };

const BASE = 'https://api.k0rdent.ai';
const TOKEN = 'k0rdent-wire-test-token';
const REGION = 'us-texas-1';
const ZONE = 'us1-a';
const PROJECT = 'project-x9y8z7';
const SCOPE = `/v1/regions/${REGION}/projects/${PROJECT}/compute/instances`;
const TYPES = `/v1/regions/${REGION}/zones/${ZONE}/instance-types`;
const IMAGES = `/v1/regions/${REGION}/compute/images`;
const PUBKEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIWireTest wire@test';

const { server, state } = wireServer(`Bearer ${TOKEN}`);

function adapter(prices: PriceTable = {}) {
  return new K0rdentProvider({
    http: new HttpClient({
      provider: 'k0rdent',
      baseUrl: BASE,
      headers: () => ({ authorization: `Bearer ${TOKEN}` }),
      parseError,
      retry: { baseDelayMs: 1, maxDelayMs: 2 },
    }),
    region: REGION,
    project: PROJECT,
    zone: ZONE,
    prices,
  });
}

const H100 = `/v1/regions/${REGION}/zones/${ZONE}/gpu-types/nvidia-h100-80gb`;
const TYPE_CPU = { id: 'c1-small', displayName: 'CPU small', vcpus: 2, memoryGb: 8, gpus: [] };
const TYPE_GPU = {
  id: 'g1-xlarge',
  displayName: '1x H100',
  vcpus: 26,
  memoryGb: 225,
  gpus: [{ type: H100, count: 1 }],
};
const IMAGE = { id: 'ubuntu-24.04-20260202-3', displayName: 'Ubuntu 24.04 LTS', os: 'Ubuntu 24.04' };
const catalog = () => [
  http.get(`${BASE}${TYPES}`, () => HttpResponse.json({ instanceTypes: [TYPE_CPU, TYPE_GPU] })),
  http.get(`${BASE}${IMAGES}`, () => HttpResponse.json({ images: [IMAGE] })),
];
const inst = (more: Record<string, unknown> = {}) => ({ ...instanceFx, ...more });
const calls = () => state.seen.map((s) => `${s.method} ${s.path}`);

describe('k0rdent AI wire format', () => {
  it('lists the zone’s instance types (assumed path), following nextPageToken; GPUs from the type URIs', async () => {
    server.use(
      http.get(`${BASE}${TYPES}`, ({ request }) =>
        new URL(request.url).searchParams.get('pageToken') === 'p2'
          ? HttpResponse.json({ instanceTypes: [TYPE_GPU] })
          : HttpResponse.json({ instanceTypes: [TYPE_CPU], nextPageToken: 'p2' }),
      ),
    );
    const types = await adapter({ 'g1-xlarge': { usd_per_hour: 2.5, source: 'config' } }).listInstanceTypes();
    expect(state.seen.map((s) => [s.method, s.path, s.query])).toEqual([
      ['GET', TYPES, { pageSize: '500' }],
      ['GET', TYPES, { pageSize: '500', pageToken: 'p2' }],
    ]);
    expect(types).toEqual([
      {
        provider: 'k0rdent',
        id: 'c1-small',
        name: 'CPU small',
        gpu: null,
        vcpus: 2,
        memory_gib: 8,
        price: { usd_per_hour: null, source: null }, // no price in the API, none configured: unknown
        regions: [REGION],
      },
      {
        provider: 'k0rdent',
        id: 'g1-xlarge',
        name: '1x H100',
        gpu: { model: 'H100', memory_gib: 80, count: 1 },
        vcpus: 26,
        memory_gib: 225,
        price: { usd_per_hour: 2.5, source: 'config' },
        regions: [REGION],
      },
    ]);
    expect(await adapter().listInstanceTypes({ region: 'eu-west-9' })).toEqual([]);
  });

  it('lists the region’s images (assumed path)', async () => {
    server.use(...catalog());
    expect(await adapter().listImages()).toEqual([
      {
        provider: 'k0rdent',
        id: IMAGE.id,
        name: 'Ubuntu 24.04 LTS',
        kind: 'image',
        regions: [REGION],
        os: 'Ubuntu 24.04',
      },
    ]);
    expect(calls()).toEqual([`GET ${IMAGES}`]);
  });

  it('gets the seed instance: type and GPU from URIs, no address marked public (the private one is used)', async () => {
    server.use(
      ...catalog(),
      http.get(`${BASE}${SCOPE}/instance-d4e5f6`, () => HttpResponse.json(instanceFx)),
    );
    const got = await adapter().getInstance('instance-d4e5f6');
    expect(got).toEqual({
      provider: 'k0rdent',
      id: 'instance-d4e5f6',
      name: 'trainer',
      status: 'pending',
      provider_status: 'PROVISIONING',
      instance_type: 'g1-xlarge',
      region: REGION,
      gpu: { model: 'H100', memory_gib: 80, count: 1 },
      private_ip: '10.0.1.7',
      ssh: 'ssh admin@10.0.1.7',
      created_at: '2019-08-24T14:15:22Z',
      price_usd_per_hour: null,
    });
    expect(calls()).toEqual([`GET ${SCOPE}/instance-d4e5f6`, `GET ${TYPES}`]);
  });

  it("an instance with an empty gpus[] gets its type's GPUs; an unknown status is unknown with the raw value", async () => {
    server.use(
      ...catalog(),
      http.get(`${BASE}${SCOPE}/x`, () =>
        HttpResponse.json(inst({ id: 'x', gpus: [], lifecycle: { status: 'HIBERNATING' } })),
      ),
    );
    expect(await adapter().getInstance('x')).toMatchObject({
      gpu: { model: 'H100', memory_gib: 80, count: 1 },
      status: 'unknown',
      provider_status: 'HIBERNATING',
    });
  });

  it('lists instances with pageSize/pageToken and hands nextPageToken back as the cursor', async () => {
    server.use(
      ...catalog(),
      http.get(`${BASE}${SCOPE}`, ({ request }) =>
        new URL(request.url).searchParams.get('pageToken')
          ? HttpResponse.json({ instances: [inst({ id: 'b' })] })
          : HttpResponse.json({ instances: [inst({ id: 'a' })], nextPageToken: 'tok-2' }),
      ),
    );
    const p = adapter();
    const one = await p.listInstances({ limit: 1 });
    expect(one.items.map((i) => i.id)).toEqual(['a']);
    expect(one.next_cursor).toBe('tok-2');
    const two = await p.listInstances({ limit: 1, cursor: one.next_cursor });
    expect(two.items.map((i) => i.id)).toEqual(['b']);
    expect(two.next_cursor).toBeUndefined();
    const lists = state.seen.filter((s) => s.path === SCOPE).map((s) => s.query);
    expect(lists).toEqual([{ pageSize: '1' }, { pageSize: '1', pageToken: 'tok-2' }]);
  });

  it('plans without sending: URIs built for the type and image, the id from name + key, the key label, GCE ssh-keys', async () => {
    server.use(...catalog());
    const p = adapter();
    const plan = await p.planCreate(
      { instance_type: 'g1-xlarge', name: 'My Trainer!', ssh_public_key: PUBKEY, disk_gib: 200 },
      { idempotencyKey: 'key-1' },
    );
    expect(state.seen.every((s) => s.method === 'GET')).toBe(true);
    const body = plan.request.body as Record<string, unknown>;
    expect(plan.request).toMatchObject({ method: 'POST', path: SCOPE });
    expect(body).toEqual({
      id: expect.stringMatching(/^my-trainer-[0-9a-f]{10}$/),
      displayName: 'My Trainer!',
      labels: { 'managed-by': 'compute-mcp', 'compute-mcp-idempotency-key': keyDigest('key-1') },
      type: `/v1/regions/${REGION}/zones/${ZONE}/instance-types/g1-xlarge`,
      instanceMetadata: [{ key: 'ssh-keys', value: `admin:${PUBKEY}\n` }],
      hostname: 'my-trainer',
      disks: [
        {
          boot: true,
          source: `/v1/regions/${REGION}/compute/images/${IMAGE.id}`,
          mode: 'READ_WRITE',
          type: 'PERSISTENT',
          interface: 'SCSI',
          sizeGb: 200,
        },
      ],
    });
    expect(plan).toMatchObject({ region: REGION, image: IMAGE.id, price: { usd_per_hour: null, source: null } });
    expect(plan.notes!.join(' ')).toContain('prices.k0rdent["g1-xlarge"]');
    // Stable for the same key and name; random without a key.
    const again = await p.planCreate(
      { instance_type: 'g1-xlarge', name: 'My Trainer!', ssh_public_key: PUBKEY, disk_gib: 200 },
      { idempotencyKey: 'key-1' },
    );
    expect((again.request.body as { id: string }).id).toBe(body.id);
    const a = await p.planCreate({ instance_type: 'c1-small', name: 'n', ssh_public_key: PUBKEY });
    const b = await p.planCreate({ instance_type: 'c1-small', name: 'n', ssh_public_key: PUBKEY });
    expect((a.request.body as { id: string }).id).not.toBe((b.request.body as { id: string }).id);
    expect((a.request.body as { labels: object }).labels).toEqual({ 'managed-by': 'compute-mcp' });
  });

  it('a key without a comment gets the user as its comment; fields k0rdent cannot use are refused before any call', async () => {
    server.use(...catalog());
    const plan = await adapter().planCreate({
      instance_type: 'c1-small',
      name: 'n',
      ssh_public_key: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIWireTest',
    });
    expect((plan.request.body as { instanceMetadata: unknown }).instanceMetadata).toEqual([
      { key: 'ssh-keys', value: 'admin:ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIWireTest admin\n' },
    ]);
    state.seen = [];
    for (const extra of [
      { startup_script: 'echo' },
      { from_snapshot: 's' },
      { limit_price_usd: 1 },
      { ssh_public_key: undefined },
      { region: 'eu-west-9' },
    ])
      await expect(
        adapter().planCreate({ instance_type: 'c1-small', name: 'n', ssh_public_key: PUBKEY, ...extra }),
      ).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    expect(state.seen).toEqual([]);
  });

  it('creates once (POST, never retried) and maps the answer', async () => {
    let posts = 0;
    server.use(
      ...catalog(),
      http.post(`${BASE}${SCOPE}`, async ({ request }) => {
        posts++;
        const b = (await request.json()) as { id: string; labels: Record<string, string> };
        return HttpResponse.json(inst({ id: b.id, labels: b.labels, gpus: [] }));
      }),
    );
    const p = adapter();
    const plan = await p.planCreate(
      { instance_type: 'g1-xlarge', name: 'c', ssh_public_key: PUBKEY },
      { idempotencyKey: 'k' },
    );
    const made = await p.create(plan);
    expect(made).toMatchObject({
      id: (plan.request.body as { id: string }).id,
      gpu: { model: 'H100', memory_gib: 80, count: 1 },
    });
    expect(posts).toBe(1);
    expect(state.seen.find((s) => s.method === 'POST')!.body).toEqual(plan.request.body);
  });

  it('a 409 (already exists) returns the VM when its label carries the same key; CONFLICT otherwise', async () => {
    const conflict = () =>
      HttpResponse.json({ error: { code: 409, message: 'instance already exists', details: [] } }, { status: 409 });
    let labels: Record<string, string> = {};
    server.use(
      ...catalog(),
      http.post(`${BASE}${SCOPE}`, conflict),
      http.get(`${BASE}${SCOPE}/:id`, ({ params }) => HttpResponse.json(inst({ id: params.id, labels }))),
    );
    const p = adapter();
    const plan = await p.planCreate(
      { instance_type: 'c1-small', name: 'dup', ssh_public_key: PUBKEY },
      { idempotencyKey: 'k' },
    );
    const id = (plan.request.body as { id: string }).id;
    labels = { 'compute-mcp-idempotency-key': keyDigest('k') };
    expect((await p.create(plan)).id).toBe(id);
    expect(calls().filter((c) => !c.includes('instance-types'))).toContain(`GET ${SCOPE}/${id}`);
    labels = { 'compute-mcp-idempotency-key': keyDigest('someone else') };
    await expect(p.create(plan)).rejects.toMatchObject({ code: 'CONFLICT' });
    expect(state.seen.filter((s) => s.method === 'POST')).toHaveLength(2);
  });

  it('finds a lost create by its label across every page of the list', async () => {
    server.use(
      ...catalog(),
      http.get(`${BASE}${SCOPE}`, ({ request }) =>
        new URL(request.url).searchParams.get('pageToken')
          ? HttpResponse.json({
              instances: [inst({ id: 'mine', labels: { 'compute-mcp-idempotency-key': keyDigest('lost') } })],
            })
          : HttpResponse.json({ instances: [inst({ id: 'other', labels: {} })], nextPageToken: 'n' }),
      ),
    );
    const found = await adapter().findByIdempotencyKey('lost');
    expect(found?.id).toBe('mine');
    expect(state.seen.filter((s) => s.path === SCOPE).map((s) => s.query)).toEqual([
      { pageSize: '500' },
      { pageSize: '500', pageToken: 'n' },
    ]);
    state.seen = [];
    expect(await adapter().findByIdempotencyKey('never')).toBeUndefined();
  });

  it('deletes with DELETE (assumed); a 404 means already gone', async () => {
    server.use(
      // The answer's body (assumed: the instance in DELETING) is not read, so none is needed here.
      http.delete(`${BASE}${SCOPE}/a`, () => new HttpResponse(null, { status: 202 })),
      http.delete(`${BASE}${SCOPE}/b`, () =>
        HttpResponse.json({ error: { code: 404, message: 'not found', details: [] } }, { status: 404 }),
      ),
    );
    expect(await adapter().delete('a')).toEqual({ already_gone: false });
    expect(await adapter().delete('b')).toEqual({ already_gone: true });
    expect(calls()).toEqual([`DELETE ${SCOPE}/a`, `DELETE ${SCOPE}/b`]);
  });

  it('stops and starts with POST …/stop and …/start (assumed), reading the state first', async () => {
    let status = 'RUNNING';
    server.use(
      ...catalog(),
      http.get(`${BASE}${SCOPE}/a`, () => HttpResponse.json(inst({ id: 'a', lifecycle: { status } }))),
      http.post(`${BASE}${SCOPE}/a/stop`, () => {
        status = 'STOPPING';
        return HttpResponse.json(inst({ id: 'a', lifecycle: { status } }));
      }),
      http.post(`${BASE}${SCOPE}/a/start`, () => {
        status = 'STARTING';
        return HttpResponse.json(inst({ id: 'a', lifecycle: { status } }));
      }),
    );
    const p = adapter();
    expect(await p.pause(['a'])).toEqual([{ id: 'a', result: 'paused', status: 'stopping' }]);
    status = 'STOPPED';
    expect(await p.resume(['a'])).toEqual([{ id: 'a', result: 'resumed', status: 'starting' }]);
    expect(calls()).toEqual([`GET ${SCOPE}/a`, `POST ${SCOPE}/a/stop`, `GET ${SCOPE}/a`, `POST ${SCOPE}/a/start`]);
  });

  it('get_console gives the SSH command for the metadata user and says which address it chose and why', async () => {
    const nics = [
      { network: 'n0', ipv4Address: '10.0.1.9' },
      { network: 'n1', ipv4Address: '198.51.100.4' },
    ];
    server.use(http.get(`${BASE}${SCOPE}/a`, () => HttpResponse.json(inst({ id: 'a', nics }))));
    const c = await adapter().getConsole('a');
    expect(c.console).toEqual({
      provider: 'k0rdent',
      instance_id: 'a',
      kind: 'ssh',
      command: 'ssh admin@198.51.100.4',
    });
    expect(c.note).toContain('marks no address public; 198.51.100.4 (NIC 1) was chosen');
    server.use(http.get(`${BASE}${SCOPE}/b`, () => HttpResponse.json(inst({ id: 'b', nics: [] }))));
    await expect(adapter().getConsole('b')).rejects.toMatchObject({ code: 'NOT_READY' });
  });

  it('reads both documented error envelopes: the int code becomes a string code', async () => {
    server.use(
      http.get(`${BASE}${SCOPE}/a`, () =>
        HttpResponse.json({ error: { code: 404, message: 'instance a not found', details: [{}] } }, { status: 404 }),
      ),
      http.get(`${BASE}${SCOPE}/b`, () =>
        HttpResponse.json(
          { success: false, error: { code: 'FORBIDDEN', message: 'no access' }, meta: { requestId: 'req_x-1-2' } },
          { status: 403 },
        ),
      ),
    );
    await expect(adapter().getInstance('a')).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: expect.stringContaining('(NOT_FOUND): instance a not found'),
    });
    await expect(adapter().getInstance('b')).rejects.toMatchObject({
      code: 'PROVIDER_AUTH',
      message: expect.stringContaining('(FORBIDDEN): no access'),
    });
    expect(parseError({ error: { code: 6, message: 'dup' } })).toEqual({ code: 'ALREADY_EXISTS', message: 'dup' });
  });
});
