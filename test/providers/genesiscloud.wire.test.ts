/**
 * Genesis Cloud wire format: every call's method, path, query, auth header and body against the documented format
 * (shared/seeds/genesiscloud-instances.txt, providers.md §3), with msw intercepting the global fetch.
 */
import { http, HttpResponse } from 'msw';
import { describe, expect, it, vi } from 'vitest';
import { wireServer } from '../helpers/wire.js';
import { HttpClient } from '../../src/http/client.js';
import { GenesisCloudProvider } from '../../src/providers/genesiscloud/adapter.js';
import { DOCUMENTED_REGIONS } from '../../src/providers/genesiscloud/catalog.js';
import { ErrorBody } from '../../src/providers/genesiscloud/wire.js';
import instanceFx from '../../src/providers/genesiscloud/fixtures/instance.json' with { type: 'json' };
import listFx from '../../src/providers/genesiscloud/fixtures/list-instances.json' with { type: 'json' };
import snapshotFx from '../../src/providers/genesiscloud/fixtures/snapshot.json' with { type: 'json' };
import snapshotsFx from '../../src/providers/genesiscloud/fixtures/list-snapshots.json' with { type: 'json' };
import actionsFx from '../../src/providers/genesiscloud/fixtures/actions.json' with { type: 'json' };

const BASE = 'https://api.genesiscloud.com';
const API = `${BASE}/compute/v1`;
const TOKEN = 'wire-test-token';
const ID = '9e8ce501-d692-402c-8fca-5a8f5d8ddd57';

const { server, state } = wireServer(`Bearer ${TOKEN}`);

function adapter(prices = {}) {
  const httpClient = new HttpClient({
    provider: 'genesiscloud',
    baseUrl: BASE,
    headers: () => ({ authorization: `Bearer ${TOKEN}` }),
    parseError: (b) => ErrorBody.parse(b),
    retry: { baseDelayMs: 1, maxDelayMs: 2 },
  });
  return new GenesisCloudProvider({ http: httpClient, prices });
}

const page = <K extends string>(key: K, items: unknown[], p = 1, per = 100, total = items.length) => ({
  [key]: items,
  total_count: total,
  page: p,
  per_page: per,
});

describe('Genesis Cloud wire format', () => {
  it('lists instances with page/per_page and Bearer auth, mapping the documented example', async () => {
    server.use(http.get(`${API}/instances`, () => HttpResponse.json({ ...listFx, total_count: 3, per_page: 1 })));
    const r = await adapter({
      'vcpu-4_memory-12g_disk-80g_nvidia3080-1': { usd_per_hour: 0.35, source: 'config' },
    }).listInstances({ limit: 1 });
    expect(state.seen).toEqual([
      {
        method: 'GET',
        path: '/compute/v1/instances',
        query: { page: '1', per_page: '1' },
        auth: `Bearer ${TOKEN}`,
        body: undefined,
      },
    ]);
    expect(r.next_cursor).toBe('2');
    expect(r.items[0]).toEqual({
      provider: 'genesiscloud',
      id: ID,
      name: 'name',
      status: 'running',
      provider_status: 'active',
      instance_type: 'vcpu-4_memory-12g_disk-80g_nvidia3080-1',
      region: 'ARC-IS-HAF-1',
      gpu: { model: 'RTX 3080', count: 1, memory_gib: 10 },
      public_ip: '198.51.100.127',
      ssh: 'ssh ubuntu@198.51.100.127',
      private_ip: '192.168.10.124',
      created_at: '2020-03-23T10:09:29.152Z',
      price_usd_per_hour: 0.35,
    });
  });

  it('follows a cursor to the next page and caps per_page at 100', async () => {
    server.use(
      http.get(`${API}/instances`, () => HttpResponse.json({ ...listFx, page: 2, per_page: 100, total_count: 101 })),
    );
    const r = await adapter().listInstances({ cursor: '2', limit: 500 });
    expect(state.seen[0]!.query).toEqual({ page: '2', per_page: '100' });
    expect(r.next_cursor).toBeUndefined();
  });

  it('gets one instance', async () => {
    server.use(http.get(`${API}/instances/:id`, () => HttpResponse.json(instanceFx)));
    const i = await adapter().getInstance(ID);
    expect(state.seen.map((s) => `${s.method} ${s.path}`)).toEqual([`GET /compute/v1/instances/${ID}`]);
    expect(i.price_usd_per_hour).toBeNull();
  });

  it('creates: registers the SSH key through /ssh-keys, then POSTs the documented body once (201)', async () => {
    server.use(
      ...DOCUMENTED_REGIONS.map((r) =>
        http.get(`${API}/availability/${r}/instances`, () =>
          HttpResponse.json({
            availability: {
              region: r,
              instance_types: [{ type: 'vcpu-4_memory-12g_disk-80g_nvidia1080ti-1', available: r === 'EUW-GB-MNC-1' }],
            },
          }),
        ),
      ),
      http.get(`${API}/images`, () => HttpResponse.json(page('images', []))),
      http.get(`${API}/ssh-keys`, () => HttpResponse.json(page('ssh_keys', []))),
      http.post(`${API}/ssh-keys`, () =>
        HttpResponse.json(
          { id: '45bcd3ac-fccd-4eea-a812-21f01d665464', name: 'k', value: 'ssh-ed25519 AAAA x' },
          { status: 201 },
        ),
      ),
      http.post(`${API}/instances`, () => HttpResponse.json(instanceFx, { status: 201 })),
    );
    const a = adapter();
    const plan = await a.planCreate({
      instance_type: 'vcpu-4_memory-12g_disk-80g_nvidia1080ti-1',
      name: 'My box',
      image: '7b1644e2-d97d-4725-a927-0028bc60bc28',
      ssh_public_key: 'ssh-ed25519 AAAA x',
      startup_script: '#!/bin/bash\nsudo apt update && sudo apt install iperf3',
      disk_gib: 128,
    });
    expect(state.seen.filter((s) => s.method !== 'GET')).toEqual([]); // planning sends nothing that changes state
    expect(plan.region).toBe('EUW-GB-MNC-1');
    state.seen = [];
    const inst = await a.create(plan);
    expect(state.seen.map((s) => `${s.method} ${s.path}`)).toEqual([
      'POST /compute/v1/ssh-keys',
      'POST /compute/v1/instances',
    ]);
    expect(state.seen[0]!.body).toEqual({
      name: expect.stringMatching(/^compute-mcp-[0-9a-f]{12}$/),
      value: 'ssh-ed25519 AAAA x',
    });
    expect(state.seen[1]).toEqual({
      method: 'POST',
      path: '/compute/v1/instances',
      query: {},
      auth: `Bearer ${TOKEN}`,
      body: {
        name: 'My box',
        hostname: 'my-box',
        type: 'vcpu-4_memory-12g_disk-80g_nvidia1080ti-1',
        region: 'EUW-GB-MNC-1',
        image: '7b1644e2-d97d-4725-a927-0028bc60bc28',
        ssh_keys: ['45bcd3ac-fccd-4eea-a812-21f01d665464'],
        metadata: { startup_script: '#!/bin/bash\nsudo apt update && sudo apt install iperf3' },
        disk_size: 128,
      },
    });
    expect(inst.id).toBe(ID);
  });

  it('reuses an SSH key already in the account and restores from a snapshot through image', async () => {
    server.use(
      ...DOCUMENTED_REGIONS.map((r) =>
        http.get(`${API}/availability/${r}/instances`, () =>
          HttpResponse.json({
            availability: { region: r, instance_types: [{ type: 'vcpu-2_memory-4g_disk-80g', available: true }] },
          }),
        ),
      ),
      http.get(`${API}/images`, () => HttpResponse.json(page('images', []))),
      http.get(`${API}/ssh-keys`, () =>
        HttpResponse.json(page('ssh_keys', [{ id: 'key-1', name: 'mine', value: 'ssh-ed25519 AAAA x' }])),
      ),
      http.get(`${API}/snapshots/:id`, ({ params }) =>
        HttpResponse.json({ snapshot: { ...snapshotFx.snapshot, id: params.id, region: 'NORD-NO-KRS-1' } }),
      ),
      http.post(`${API}/instances`, () => HttpResponse.json(instanceFx, { status: 201 })),
    );
    const a = adapter();
    await expect(
      a.planCreate({
        instance_type: 'vcpu-2_memory-4g_disk-80g',
        name: 'r',
        region: 'EUC-DE-MUC-1',
        from_snapshot: 'snap-1',
      }),
    ).rejects.toMatchObject({ code: 'INVALID_INPUT', message: expect.stringContaining('is in NORD-NO-KRS-1') });
    const plan = await a.planCreate({
      instance_type: 'vcpu-2_memory-4g_disk-80g',
      name: 'r',
      from_snapshot: 'snap-1',
      ssh_public_key: 'ssh-ed25519 AAAA x\n',
    });
    expect(state.seen.some((x) => x.path === '/compute/v1/snapshots/snap-1')).toBe(true);
    state.seen = [];
    await a.create(plan);
    expect(state.seen.map((s) => `${s.method} ${s.path}`)).toEqual(['POST /compute/v1/instances']);
    expect(state.seen[0]!.body).toMatchObject({ image: 'snap-1', ssh_keys: ['key-1'], region: 'NORD-NO-KRS-1' });
  });

  it('never re-sends a create that failed with 503', async () => {
    server.use(
      http.post(`${API}/instances`, () =>
        HttpResponse.json({ code: 'unavailable', message: 'try later' }, { status: 503 }),
      ),
    );
    const a = adapter();
    const plan = { provider: 'genesiscloud', internal: { body: { name: 'x' } } } as never;
    await expect(a.create(plan)).rejects.toMatchObject({
      code: 'PROVIDER_UNAVAILABLE',
      hint: expect.stringContaining('not re-sent'),
    });
    expect(state.seen.filter((s) => s.method === 'POST')).toHaveLength(1);
  });

  it('deletes with 204, and treats 404 as already gone', async () => {
    server.use(
      http.delete(`${API}/instances/:id`, ({ params }) =>
        params.id === ID
          ? new HttpResponse(null, { status: 204 })
          : HttpResponse.json({ code: 'not_found', message: 'instance not found' }, { status: 404 }),
      ),
    );
    expect(await adapter().delete(ID)).toEqual({ already_gone: false });
    expect(await adapter().delete('other')).toEqual({ already_gone: true });
    expect(state.seen.map((s) => `${s.method} ${s.path}`)).toEqual([
      `DELETE /compute/v1/instances/${ID}`,
      'DELETE /compute/v1/instances/other',
    ]);
  });

  it('pauses through GET /actions then POST /actions {"action":"stop"} (204)', async () => {
    server.use(
      http.get(`${API}/instances/:id`, () => HttpResponse.json(instanceFx)),
      http.get(`${API}/instances/:id/actions`, () => HttpResponse.json(actionsFx)),
      http.post(`${API}/instances/:id/actions`, () => new HttpResponse(null, { status: 204 })),
    );
    expect(await adapter().pause([ID])).toEqual([{ id: ID, result: 'paused', status: 'stopping' }]);
    expect(state.seen.map((s) => `${s.method} ${s.path}`)).toEqual([
      `GET /compute/v1/instances/${ID}`,
      `GET /compute/v1/instances/${ID}/actions`,
      `POST /compute/v1/instances/${ID}/actions`,
    ]);
    expect(state.seen[2]!.body).toEqual({ action: 'stop' });
  });

  it('resumes with {"action":"start"} and does not act when the action is not allowed', async () => {
    const stopped = { instance: { ...instanceFx.instance, status: 'stopped' } };
    server.use(
      http.get(`${API}/instances/:id`, ({ params }) =>
        HttpResponse.json(
          params.id === 'busy' ? { instance: { ...instanceFx.instance, id: 'busy', status: 'stopping' } } : stopped,
        ),
      ),
      http.get(`${API}/instances/:id/actions`, ({ params }) =>
        HttpResponse.json({ actions: params.id === 'busy' ? [] : ['start'] }),
      ),
      http.post(`${API}/instances/:id/actions`, () => new HttpResponse(null, { status: 204 })),
    );
    const r = await adapter().resume([ID, 'busy']);
    expect(r[0]).toEqual({ id: ID, result: 'resumed', status: 'starting' });
    expect(r[1]).toMatchObject({
      id: 'busy',
      result: 'failed',
      message: expect.stringContaining('cannot start while the instance is stopping'),
    });
    const posts = state.seen.filter((s) => s.method === 'POST');
    expect(posts).toEqual([
      expect.objectContaining({ path: `/compute/v1/instances/${ID}/actions`, body: { action: 'start' } }),
    ]);
  });

  it('snapshots with POST {name} (201) and lists snapshots of an instance and of the cloud, all pages', async () => {
    server.use(
      http.post(`${API}/instances/:id/snapshots`, () => HttpResponse.json(snapshotFx, { status: 201 })),
      http.get(`${API}/instances/:id/snapshots`, () => HttpResponse.json(snapshotsFx)),
      http.get(`${API}/snapshots`, ({ request }) => {
        const p = Number(new URL(request.url).searchParams.get('page'));
        return HttpResponse.json({
          ...snapshotsFx,
          snapshots: [{ ...snapshotsFx.snapshots[0], id: `s${p}` }],
          page: p,
          per_page: 100,
          total_count: 150,
        });
      }),
    );
    const a = adapter();
    expect(await a.snapshot(ID, 'snapshot')).toEqual({
      provider: 'genesiscloud',
      id: 'ca73c941-7bd7-4d05-98d3-485e7980638b',
      name: 'snapshot',
      status: 'available',
      provider_status: 'created',
      instance_id: '<instance-id>',
      region: 'ARC-IS-HAF-1',
      created_at: '2020-03-30T13:39:44.540Z',
    });
    expect(state.seen[0]).toMatchObject({
      method: 'POST',
      path: `/compute/v1/instances/${ID}/snapshots`,
      body: { name: 'snapshot' },
    });
    expect((await a.listSnapshots({ instanceId: ID }))[0]).toMatchObject({ size_gib: 128, status: 'available' });
    expect((await a.listSnapshots()).map((s) => s.id)).toEqual(['s1', 's2']);
    expect(state.seen.filter((s) => s.path === '/compute/v1/snapshots').map((s) => s.query)).toEqual([
      { page: '1', per_page: '100' },
      { page: '2', per_page: '100' },
    ]);
  });

  it('lists cloud images with type=cloud-image plus restorable snapshots', async () => {
    server.use(
      http.get(`${API}/images`, () =>
        HttpResponse.json(
          page('images', [
            {
              id: 'img-1',
              name: 'Ubuntu 22.04',
              slug: 'ubuntu-22.04',
              os_type: 'linux',
              regions: ['NORD-NO-KRS-1'],
              type: 'cloud-image',
            },
          ]),
        ),
      ),
      http.get(`${API}/snapshots`, () => HttpResponse.json(snapshotsFx)),
    );
    const images = await adapter().listImages();
    expect(state.seen.find((s) => s.path === '/compute/v1/images')!.query).toEqual({
      type: 'cloud-image',
      page: '1',
      per_page: '100',
    });
    expect(images).toEqual([
      {
        provider: 'genesiscloud',
        id: 'ubuntu-22.04',
        name: 'Ubuntu 22.04',
        kind: 'image',
        regions: ['NORD-NO-KRS-1'],
        os: 'linux',
      },
      {
        provider: 'genesiscloud',
        id: 'ff942497-62f6-4a9d-8dc4-3766ebc2b8a2',
        name: 'snapshot name',
        kind: 'snapshot',
        regions: ['ARC-IS-HAF-1'],
      },
    ]);
  });

  it('reads availability per region; without it, lists the documented table with unknown availability', async () => {
    server.use(
      http.get(`${API}/images`, () => HttpResponse.json(page('images', []))),
      ...DOCUMENTED_REGIONS.map((r) =>
        http.get(`${API}/availability/${r}/instances`, () =>
          HttpResponse.json({ code: 'not_found', message: 'x' }, { status: 404 }),
        ),
      ),
    );
    const types = await adapter().listInstanceTypes();
    // Changed: every documented region (the OpenAPI enum and the seed's ARC-IS-HAF-1) is asked at the same time as
    // the images endpoint, which names any other region (there is no regions endpoint).
    expect(state.seen.map((s) => s.path).sort()).toEqual(
      ['/compute/v1/images', ...DOCUMENTED_REGIONS.map((r) => `/compute/v1/availability/${r}/instances`)].sort(),
    );
    expect(types).toHaveLength(48);
    expect(types[0]).not.toHaveProperty('available');
    expect(types[0]!.regions).toEqual([...DOCUMENTED_REGIONS]);
    expect(types.every((t) => t.price.usd_per_hour === null)).toBe(true); // no price API, no config: never invented
  });

  describe('regions the API names, not a fixed list', () => {
    const CPU = 'vcpu-2_memory-4g_disk-80g';
    const GPU = 'vcpu-4_memory-12g_disk-80g_nvidia3080-1';
    // A region no document names (neither the OpenAPI enum nor seed 002): one the cloud opened since.
    const NEW = 'EUN-FI-HEL-1';
    const availability = (offered: Record<string, string[]>) => [
      http.get(`${API}/availability/:region/instances`, ({ params }) => {
        const region = String(params.region);
        const types = offered[region];
        if (!types)
          return HttpResponse.json({ code: 'not_found', message: `region ${region} not found` }, { status: 404 });
        return HttpResponse.json({
          availability: {
            region,
            type: 'instances',
            instance_types: [CPU, GPU].map((t) => ({ type: t, available: types.includes(t) })),
          },
        });
      }),
      http.get(`${API}/ssh-keys`, () =>
        HttpResponse.json(page('ssh_keys', [{ id: 'key-1', name: 'mine', value: 'ssh-ed25519 AAAA x' }])),
      ),
    ];
    const images = (regions: string[]) =>
      http.get(`${API}/images`, () =>
        HttpResponse.json(
          page('images', [
            { id: 'img-1', name: 'Ubuntu 22.04', slug: 'ubuntu-22.04', os_type: 'linux', regions, type: 'cloud-image' },
          ]),
        ),
      );

    it('asks about every region the images endpoint names and lists types there', async () => {
      server.use(images(['NORD-NO-KRS-1', NEW]), ...availability({ 'NORD-NO-KRS-1': [CPU], [NEW]: [CPU, GPU] }));
      const types = await adapter().listInstanceTypes();
      expect(state.seen.map((s) => s.path)).toContain(`/compute/v1/availability/${NEW}/instances`);
      expect(types.find((t) => t.id === GPU)).toMatchObject({ regions: [NEW], available: true });
      expect(types.find((t) => t.id === CPU)).toMatchObject({ regions: ['NORD-NO-KRS-1', NEW], available: true });
    });

    it('asks about a region given as a filter even when nothing else names it', async () => {
      server.use(images(['NORD-NO-KRS-1']), ...availability({ 'NORD-NO-KRS-1': [CPU], [NEW]: [GPU] }));
      const types = await adapter().listInstanceTypes({ region: NEW });
      expect(types.map((t) => t.id)).toEqual([GPU]);
    });

    it('plans a create in a region outside the enum when the cloud has the type there', async () => {
      server.use(images([NEW]), ...availability({ [NEW]: [CPU, GPU] }));
      const plan = await adapter().planCreate({ instance_type: GPU, name: 'n', region: NEW, image: 'ubuntu-22.04' });
      expect(plan.region).toBe(NEW);
      expect(plan.request.body).toMatchObject({ region: NEW, type: GPU });
    });

    it('refuses a region the cloud does not offer, from its own answer, naming where the type is', async () => {
      server.use(images(['NORD-NO-KRS-1', NEW]), ...availability({ 'NORD-NO-KRS-1': [CPU], [NEW]: [CPU, GPU] }));
      const e = await adapter()
        .planCreate({ instance_type: GPU, name: 'n', region: 'MARS-1', image: 'ubuntu-22.04' })
        .catch((x: unknown) => x);
      expect(e).toMatchObject({
        code: 'INVALID_INPUT',
        message: expect.stringMatching(
          /does not offer region "MARS-1" \(GET \/compute\/v1\/availability\/MARS-1\/instances failed with HTTP 404 \(not_found\): region MARS-1 not found\)/,
        ),
        hint: expect.stringContaining(`Regions with capacity for ${GPU} now: ${NEW}.`),
      });
      expect(state.seen.some((s) => s.path === '/compute/v1/availability/MARS-1/instances')).toBe(true);
      expect(state.seen.filter((s) => s.method !== 'GET')).toEqual([]);
    });

    it('says CAPACITY when the region answers without the type', async () => {
      server.use(images(['NORD-NO-KRS-1', NEW]), ...availability({ 'NORD-NO-KRS-1': [CPU], [NEW]: [CPU, GPU] }));
      await expect(
        adapter().planCreate({ instance_type: GPU, name: 'n', region: 'NORD-NO-KRS-1', image: 'ubuntu-22.04' }),
      ).rejects.toMatchObject({ code: 'CAPACITY', hint: expect.stringContaining(NEW) });
    });

    it('asks the documented regions with the images endpoint, not after it; a region only the images name, once after', async () => {
      let release!: () => void;
      let held = new Promise<void>((r) => (release = r));
      const asked = () => state.seen.filter((x) => x.path.startsWith('/compute/v1/availability/')).map((x) => x.path);
      server.use(
        http.get(`${API}/images`, async () => {
          await held;
          return HttpResponse.json(
            page('images', [
              {
                id: 'i',
                name: 'Ubuntu 22.04',
                slug: 'ubuntu-22.04',
                os_type: 'linux',
                regions: [NEW],
                type: 'cloud-image',
              },
            ]),
          );
        }),
        ...availability({ 'NORD-NO-KRS-1': [CPU], [NEW]: [CPU, GPU] }),
      );
      let now = 0;
      const a = new GenesisCloudProvider({
        http: new HttpClient({
          provider: 'genesiscloud',
          baseUrl: BASE,
          headers: () => ({ authorization: `Bearer ${TOKEN}` }),
          parseError: (b) => ErrorBody.parse(b),
        }),
        availabilityTtlMs: 1_000,
        now: () => now,
      });
      const first = a.listInstanceTypes();
      await vi.waitFor(() => expect(asked()).toHaveLength(DOCUMENTED_REGIONS.length));
      // While the images endpoint has not answered, only the documented regions are asked.
      expect(asked()).not.toContain(`/compute/v1/availability/${NEW}/instances`);
      release();
      expect((await first).find((t) => t.id === GPU)).toMatchObject({ regions: [NEW], available: true });
      expect(asked().at(-1)).toBe(`/compute/v1/availability/${NEW}/instances`); // the second round, for it alone
      // Once named, the region is asked in the first round of every later load.
      state.seen = [];
      held = new Promise<void>((r) => (release = r));
      now = 2_000;
      const second = a.listInstanceTypes();
      await vi.waitFor(() => expect(asked()).toHaveLength(DOCUMENTED_REGIONS.length + 1));
      release();
      expect((await second).find((t) => t.id === GPU)).toMatchObject({ regions: [NEW] });
      expect(asked().filter((x) => x.includes(NEW))).toHaveLength(1);
    });

    it('never puts a malformed region into a path', async () => {
      await expect(
        adapter().planCreate({ instance_type: CPU, name: 'n', region: '..', image: 'ubuntu-22.04' }),
      ).rejects.toMatchObject({
        code: 'INVALID_INPUT',
        message: expect.stringContaining('not a Genesis Cloud region id'),
      });
      expect(state.seen).toEqual([]);
    });
  });

  describe('termination protection', () => {
    const protectedInstance = (v: boolean | string) => ({ instance: { ...instanceFx.instance, is_protected: v } });

    it.each([[true], ['true']])(
      'a refused delete of a protected VM (is_protected %j) says so and how to lift it',
      async (flag) => {
        server.use(
          // The status and code of the real refusal are not documented; any 4xx refusal is checked the same way.
          http.delete(`${API}/instances/:id`, () =>
            HttpResponse.json({ code: 'bad_request', message: 'instance cannot be destroyed' }, { status: 400 }),
          ),
          http.get(`${API}/instances/:id`, () => HttpResponse.json(protectedInstance(flag))),
        );
        const e = await adapter()
          .delete(ID)
          .catch((x: unknown) => x);
        expect(e).toMatchObject({
          code: 'CONFLICT',
          status: 400,
          message: expect.stringContaining('termination protection on (is_protected: true)'),
          hint: expect.stringContaining(`PATCH /compute/v1/instances/${ID} with {"is_protected": false}`),
        });
        expect((e as { hint: string }).hint).toContain('Genesis Cloud console');
        expect(state.seen.map((s) => `${s.method} ${s.path}`)).toEqual([
          `DELETE /compute/v1/instances/${ID}`,
          `GET /compute/v1/instances/${ID}`,
        ]);
      },
    );

    it("keeps the cloud's own error when the refused VM is not protected", async () => {
      server.use(
        http.delete(`${API}/instances/:id`, () =>
          HttpResponse.json({ code: 'bad_request', message: 'busy' }, { status: 400 }),
        ),
        http.get(`${API}/instances/:id`, () => HttpResponse.json(protectedInstance(false))),
      );
      await expect(adapter().delete(ID)).rejects.toMatchObject({
        code: 'INVALID_INPUT',
        message: expect.stringContaining('(bad_request): busy'),
      });
    });
  });

  it('reads the snapshot source instance from source_instance_id when resource_id is absent (genesiscloud-go)', async () => {
    const { resource_id: _drop, ...rest } = snapshotsFx.snapshots[0]!;
    server.use(
      http.get(`${API}/snapshots`, () =>
        HttpResponse.json({
          ...snapshotsFx,
          snapshots: [{ ...rest, source_instance_id: ID, os_type: 'linux', updated_at: rest.created_at }],
        }),
      ),
    );
    expect(await adapter().listSnapshots()).toEqual([
      expect.objectContaining({ instance_id: ID, status: 'available' }),
    ]);
  });

  it('turns {code,message} errors into typed errors with the cloud text and a next step', async () => {
    server.use(
      http.get(`${API}/instances/:id`, () =>
        HttpResponse.json({ code: 'unauthorized', message: 'invalid token' }, { status: 401 }),
      ),
    );
    await expect(adapter().getInstance(ID)).rejects.toMatchObject({
      code: 'PROVIDER_AUTH',
      status: 401,
      message: expect.stringContaining('(unauthorized): invalid token'),
    });
  });

  it('turns a body that does not match the documented format into PROVIDER_BAD_RESPONSE', async () => {
    server.use(http.get(`${API}/instances/:id`, () => HttpResponse.json({ instance: { id: 1 } })));
    await expect(adapter().getInstance(ID)).rejects.toMatchObject({
      code: 'PROVIDER_BAD_RESPONSE',
      message: expect.stringContaining('instance.id'),
    });
  });
});
